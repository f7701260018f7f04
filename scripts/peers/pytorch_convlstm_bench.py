#!/usr/bin/env python3
"""PyTorch peer of `strata bench train`: the same ConvLSTM configurations, model, head, loss and optimizer.

For comparison only; PyTorch is never a dependency of Strata (see scripts/peers/README.md).

Model (identical to Strata's TrainBenchConfig): a stack of ConvLSTM layers, no peepholes, the four gates i, f, g, o
from one 'same'-padded convolution over cat(x_t, h_{t-1}) with bias; a 1x1 convolution head with Cin outputs on the
top layer's h of every step; MSE against a random target shaped like the input [B, T, Cin, H, W]; Adam (lr 1e-3).
Input and target are uniform in [0, 1). bf16 runs forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)
(convolutions in bf16, gate math as autocast decides); backward and Adam run outside it, as PyTorch recommends.

Each number is the median of --steps timed training steps after --warmup untimed ones; peak_rss_mib is
ru_maxrss of a fresh child process that runs exactly one configuration, precision and thread count.

    python scripts/peers/pytorch_convlstm_bench.py --json                      # everything, one child per case
    python scripts/peers/pytorch_convlstm_bench.py --config c --precision bf16 --threads 2 --steps 5
"""
import resource
import statistics
import time

from peer_bench import CONFIGS, flops_per_step, main


def measure(name, precision, threads, steps, warmup):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    cfg = CONFIGS[name]

    class ConvLSTMLayer(nn.Module):
        def __init__(self, cin, ch, k):
            super().__init__()
            self.ch = ch
            self.conv = nn.Conv2d(cin + ch, 4 * ch, k, padding=k // 2)

        def forward(self, x):  # x [B, T, C, H, W] -> h of every step [B, T, Ch, H, W]
            b, t, _, hgt, wid = x.shape
            h = x.new_zeros(b, self.ch, hgt, wid)
            c = x.new_zeros(b, self.ch, hgt, wid)
            out = []
            for s in range(t):
                z = self.conv(torch.cat([x[:, s], h], dim=1))
                i, f, g, o = torch.split(z, self.ch, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out.append(h)
            return torch.stack(out, dim=1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            layers, below = [], cfg["cin"]
            for ch in cfg["hidden"]:
                layers.append(ConvLSTMLayer(below, ch, cfg["kernel"]))
                below = ch
            self.layers = nn.ModuleList(layers)
            self.head = nn.Conv2d(below, cfg["cin"], 1)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            b, t, ch, hgt, wid = x.shape
            return self.head(x.reshape(b * t, ch, hgt, wid)).reshape(b, t, -1, hgt, wid)

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (cfg["batch"], cfg["steps"], cfg["cin"], cfg["size"], cfg["size"])
    x, target = torch.rand(shape), torch.rand(shape)
    loss_fn = nn.MSELoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        if precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_fn(model(x).float(), target)
        else:
            loss = loss_fn(model(x), target)
        loss.backward()
        optimizer.step()
        return loss.item()

    last = 0.0
    for _ in range(warmup):
        last = step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        last = step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    gflops = flops_per_step(cfg) / median / 1e9
    return {
        "framework": "pytorch", "config": name, "precision": precision, "threads": threads,
        "seconds_per_step": round(median, 5), "min_seconds_per_step": round(min(times), 5),
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": steps, "warmup": warmup, "gflops": round(gflops, 2), "percent_of_peak": None,
        "isa": "torch " + torch.__version__ + " " + torch.backends.cpu.get_cpu_capability(),
        "loss": round(last, 6),
    }


def show_config(parser):
    parser.add_argument("--show-config", action="store_true", help="print torch's build configuration and exit")

    def handled(a):
        if not a.show_config:
            return False
        import torch
        print(torch.__config__.show())
        print("mkldnn available:", torch.backends.mkldnn.is_available())
        print("cpu capability:", torch.backends.cpu.get_cpu_capability())
        return True

    return handled


if __name__ == "__main__":
    main(__doc__.split("\n")[0], __file__, measure, show_config)
