"""PyTorch reference for Strata's `--from pytorch` importer: a state dict named like ndrplz/ConvLSTM_pytorch.

That widely copied implementation keeps one `nn.Conv2d` per layer under `cell_list.{i}.conv` (weight
[4·Ch, Cin+Ch, K, K], input channels x then h, padding K//2) and splits its output into the gate blocks in the
order i, f, o, g, where Strata (and torch.nn.LSTM, Keras) use i, f, g, o. The cell below is written from that
description, not copied. A 1×1 `head` convolution on the last layer's h_T is added (ndrplz has none) so that the
importer's head path is exercised too.

Writes, into Tests/StrataModelTests/Fixtures/ndrplz/ (or --out DIR):

  ndrplz_stack.safetensors      `save_file(model.state_dict())`, float32: what a user would hand to `strata import`
      cell_list.0.conv.weight [16, 7, 3, 3]   cell_list.0.conv.bias [16]     (Cin = 3, Ch = 4)
      cell_list.1.conv.weight [24, 10, 5, 5]  cell_list.1.conv.bias [24]     (Cin = 4, Ch = 6)
      head.weight [2, 6, 1, 1]                head.bias [2]
  ndrplz_stack_io.safetensors   input F32 [B, T, Cin, H, W] = [2, 4, 3, 7, 6]; F64 outputs:
      layers.0.hidden [2, 4, 4, 7, 6], layers.1.hidden [2, 4, 6, 7, 6], head.output [2, 2, 7, 6] (logits on h_T)

The forward pass runs in float64 on parameters rounded to float32 first, so the F32 state dict is exact.
Run from the repository root: /work/.venv-torch/bin/python scripts/reference/ndrplz_reference.py
"""
import argparse
import os

import torch
from safetensors.torch import save_file

B, T, CIN, H, W = 2, 4, 3, 7, 6
HIDDEN, KERNELS = [4, 6], [3, 5]
SEED = 2025


class Cell(torch.nn.Module):
    def __init__(self, cin, ch, k):
        super().__init__()
        self.ch = ch
        self.conv = torch.nn.Conv2d(cin + ch, 4 * ch, k, padding=k // 2, bias=True)

    def forward(self, x, h, c):
        z = self.conv(torch.cat([x, h], dim=1))
        z_i, z_f, z_o, z_g = torch.split(z, self.ch, dim=1)   # ndrplz order: i, f, o, g
        c = torch.sigmoid(z_f) * c + torch.sigmoid(z_i) * torch.tanh(z_g)
        h = torch.sigmoid(z_o) * torch.tanh(c)
        return h, c


class Stack(torch.nn.Module):
    def __init__(self):
        super().__init__()
        inputs = [CIN] + HIDDEN[:-1]
        self.cell_list = torch.nn.ModuleList(Cell(i, ch, k) for i, ch, k in zip(inputs, HIDDEN, KERNELS))
        self.head = torch.nn.Conv2d(HIDDEN[-1], 2, 1)

    def forward(self, x):                                     # x [B, T, Cin, H, W], batch first
        hiddens = []
        for cell in self.cell_list:
            h = x.new_zeros(x.shape[0], cell.ch, x.shape[3], x.shape[4])
            c = torch.zeros_like(h)
            steps = []
            for t in range(x.shape[1]):
                h, c = cell(x[:, t], h, c)
                steps.append(h)
            x = torch.stack(steps, dim=1)
            hiddens.append(x)
        return hiddens, self.head(x[:, -1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/StrataModelTests/Fixtures/ndrplz")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(SEED)

    model = Stack()
    with torch.no_grad():
        for parameter in model.parameters():
            # Noisy biases so that an i/f/o/g block mix-up changes the outputs.
            scale = 0.5 if parameter.dim() == 1 else 0.3
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
            parameter.copy_(parameter.float().double())       # exact in float32
    x = torch.randn(B, T, CIN, H, W, generator=generator).float()
    model = model.double()
    with torch.no_grad():
        hiddens, head = model(x.double())

    save_file({k: v.float().contiguous() for k, v in model.state_dict().items()},
              os.path.join(args.out, "ndrplz_stack.safetensors"), metadata={"seed": str(SEED)})
    outputs = {"input": x.contiguous(), "head.output": head.contiguous()}
    outputs.update({f"layers.{i}.hidden": h.contiguous() for i, h in enumerate(hiddens)})
    save_file(outputs, os.path.join(args.out, "ndrplz_stack_io.safetensors"),
              metadata={"torch_version": torch.__version__, "seed": str(SEED)})
    print("wrote", args.out)


if __name__ == "__main__":
    main()
