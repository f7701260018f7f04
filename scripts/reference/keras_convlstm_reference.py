"""Keras 3 reference for Strata's Keras importer: a real `.weights.h5` file and the outputs Keras computes with it.

Builds a small functional model, ConvLSTM2D(4, 3×3) -> ConvLSTM2D(5, 5×5) -> Conv2D(2, 1×1), gives every weight a
seeded random value (Keras' own initialisers leave most biases at 0, which would hide a gate mix-up), saves the
weights with `model.save_weights` and runs the model on a fixed input.

Writes, into Tests/StrataModelTests/Fixtures/keras/ (or --out DIR):

  convlstm_stack.weights.h5       Keras' own file, exactly as `save_weights` writes it
  convlstm_stack_io.safetensors   input and outputs, Keras layout (channels last), float32:
      input                 [B, T, H, W, Cin] = [2, 4, 6, 5, 3]
      conv_lstm2d.output    [B, T, H, W, 4]   every step (return_sequences=True)
      conv_lstm2d_1.output  [B, H, W, 5]      last step only (return_sequences=False)
      conv2d.output         [B, H, W, 2]      the head, no activation (logits)

Run from the repository root:  KERAS_BACKEND=torch /work/.venv-torch/bin/python scripts/reference/keras_convlstm_reference.py
Needs keras (3.x), torch, numpy, safetensors.
"""
import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from safetensors.numpy import save_file

B, T, H, W, CIN = 2, 4, 6, 5, 3
SEED = 2024


def build():
    inputs = keras.Input(shape=(T, H, W, CIN))
    # Keras defaults kept on purpose: activation tanh, recurrent_activation sigmoid, use_bias, unit_forget_bias.
    first = keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="conv_lstm2d")(inputs)
    second = keras.layers.ConvLSTM2D(5, 5, padding="same", return_sequences=False, name="conv_lstm2d_1")(first)
    head = keras.layers.Conv2D(2, 1, name="conv2d")(second)
    return keras.Model(inputs, [first, second, head])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/StrataModelTests/Fixtures/keras")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    rng = np.random.default_rng(SEED)
    model = build()
    for layer in model.layers:
        for cell in layer.cell.weights if hasattr(layer, "cell") else layer.weights:
            scale = 0.5 if len(cell.shape) == 1 else 0.3
            cell.assign(rng.normal(0.0, scale, size=tuple(cell.shape)).astype(np.float32))
    for layer in model.layers[1:3]:
        config = layer.get_config()
        assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid"), config

    x = rng.normal(0.0, 1.0, size=(B, T, H, W, CIN)).astype(np.float32)
    path = os.path.join(args.out, "convlstm_stack.weights.h5")
    model.save_weights(path)
    # The outputs come from a fresh model that loaded the file, so they are what the file's weights compute.
    loaded = build()
    loaded.load_weights(path)
    # The torch backend returns return_sequences outputs as a strided view ([T, B, ...] in memory); safetensors
    # writes an array's memory as it is, so every output is made C-contiguous first.
    def numpy(outputs):
        return [np.ascontiguousarray(keras.ops.convert_to_numpy(o), dtype=np.float32) for o in outputs]

    first, second, head = numpy(loaded(x))
    again = numpy(model(x))
    for name, mine, theirs in zip(["conv_lstm2d", "conv_lstm2d_1", "conv2d"], (first, second, head), again):
        print(name, "largest difference between the original and the reloaded model", np.abs(mine - theirs).max())
    save_file(
        {"input": x, "conv_lstm2d.output": first, "conv_lstm2d_1.output": second, "conv2d.output": head},
        os.path.join(args.out, "convlstm_stack_io.safetensors"),
        metadata={"keras_version": keras.__version__, "backend": keras.backend.backend(), "seed": str(SEED)},
    )
    print("wrote", args.out, "shapes", first.shape, second.shape, head.shape)


if __name__ == "__main__":
    main()
