"""Keras 3 reference for Strata's Keras importer: a real `.weights.h5` file and the outputs Keras computes with it.

Builds two small functional models, gives every weight a seeded random value (Keras' own initialisers leave most
biases at 0, which would hide a gate mix-up), saves the weights with `model.save_weights`, and runs a fresh model
that loaded the file on a fixed input:

  stack:     ConvLSTM2D(4, 3×3) -> ConvLSTM2D(5, 5×5, last step only) -> Conv2D(2, 1×1)
  sequence:  ConvLSTM2D(3, 1×1, use_bias=False, every step) -> Conv3D(1, 1×1×1)   (a per-step head)

Writes, into Tests/StrataModelTests/Fixtures/keras/ (or --out DIR):

  convlstm_stack.weights.h5       Keras' own file, exactly as `save_weights` writes it
  convlstm_stack_io.safetensors   input and outputs, Keras layout (channels last), float32:
      input                 [B, T, H, W, Cin] = [2, 4, 6, 5, 3]
      conv_lstm2d.output    [B, T, H, W, 4]   every step (return_sequences=True)
      conv_lstm2d_1.output  [B, H, W, 5]      last step only (return_sequences=False)
      conv2d.output         [B, H, W, 2]      the head, no activation (logits)
  convlstm_sequence.weights.h5, convlstm_sequence_io.safetensors (same input):
      conv_lstm2d.output    [B, T, H, W, 3]
      conv3d.output         [B, T, H, W, 1]

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


def build_sequence():
    inputs = keras.Input(shape=(T, H, W, CIN))
    hidden = keras.layers.ConvLSTM2D(3, 1, padding="same", return_sequences=True, use_bias=False,
                                     name="conv_lstm2d")(inputs)
    head = keras.layers.Conv3D(1, 1, name="conv3d")(hidden)
    return keras.Model(inputs, [hidden, head])


def randomize(model, rng):
    for layer in model.layers:
        for variable in layer.cell.weights if hasattr(layer, "cell") else layer.weights:
            scale = 0.5 if len(variable.shape) == 1 else 0.3
            variable.assign(rng.normal(0.0, scale, size=tuple(variable.shape)).astype(np.float32))
        if hasattr(layer, "cell"):
            config = layer.get_config()
            assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid"), config


def numpy(outputs):
    # The torch backend returns return_sequences outputs as a strided view ([T, B, ...] in memory); safetensors
    # writes an array's memory as it is, so every output is made C-contiguous first.
    return [np.ascontiguousarray(keras.ops.convert_to_numpy(o), dtype=np.float32) for o in outputs]


def write(builder, name, names, x, rng, out):
    """Saves a randomized model's weights, then runs a fresh model that loaded them (so the outputs are what the
    file computes) and checks it agrees with the original."""
    model = builder()
    randomize(model, rng)
    path = os.path.join(out, f"{name}.weights.h5")
    model.save_weights(path)
    loaded = builder()
    loaded.load_weights(path)
    outputs = numpy(loaded(x))
    for mine, theirs in zip(outputs, numpy(model(x))):
        assert np.array_equal(mine, theirs)
    tensors = {"input": x}
    tensors.update({f"{layer}.output": value for layer, value in zip(names, outputs)})
    save_file(tensors, os.path.join(out, f"{name}_io.safetensors"),
              metadata={"keras_version": keras.__version__, "backend": keras.backend.backend(), "seed": str(SEED)})
    print("wrote", path, [value.shape for value in outputs])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/StrataModelTests/Fixtures/keras")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    rng = np.random.default_rng(SEED)
    # Drawn first, as before: the stack model's values do not depend on the sequence model being added.
    x = rng.normal(0.0, 1.0, size=(B, T, H, W, CIN)).astype(np.float32)
    write(build, "convlstm_stack", ["conv_lstm2d", "conv_lstm2d_1", "conv2d"], x, rng, args.out)
    write(build_sequence, "convlstm_sequence", ["conv_lstm2d", "conv3d"], x, rng, args.out)


if __name__ == "__main__":
    main()
