#!/usr/bin/env python3
"""The script a user would write instead of `strata predict`: rasterio windows + a PyTorch ConvLSTM.

A comparison peer for `strata bench predict` (docs/benchmarks.md, "Prediction"), never a Strata dependency.
It predicts the same change-detection checkpoint over the same stack with the same tile and overlap, and prints one
JSON line with the same keys as `strata bench predict --json` (framework "pytorch-rasterio").

What it does, as a user would:
  * loads the Strata checkpoint (safetensors, PyTorch layout, docs/formats-checkpoint.md): a ConvLSTM whose gate
    convolution runs over cat([x, h]) with output blocks i, f, g, o, and a 1x1 head on every step;
  * normalises with the checkpoint's mean/std, as `strata predict` does;
  * reads S x S windows with rasterio from every date (S = --tile), stride S - 2m (m = --overlap), the last row and
    column shifted back to end at the image edge;
  * blends by cropping: each tile writes only its core (its m-pixel margins dropped, except along the image edge),
    the usual "predict padded, keep the centre" of rasterio scripts. With m >= the receptive radius every kept pixel
    saw its whole receptive field, so this equals one whole-image prediction, as Strata's blend does;
  * writes change_probability = sigmoid(last logit) and change_date = first step whose logit > 0 (else -1) to a
    tiled, DEFLATE-compressed float32 GeoTIFF (nodata -9999), window by window.

Usage (stack and checkpoint from `strata bench predict --prepare-only`, or run scripts/peers/compare_predict.sh):
  python rasterio_predict.py --checkpoint W/convlstm.safetensors --out pred.tif --tile 256 [--threads 2] VRT...
Peak memory is the process's VmHWM (/proc/self/status), which includes `import torch` (~220 MiB).
"""
import argparse
import json
import os
import time

START = time.monotonic()

import numpy as np  # noqa: E402  (imports timed on purpose: process_seconds includes them)
import rasterio  # noqa: E402
import torch  # noqa: E402
from rasterio.windows import Window  # noqa: E402
from safetensors import safe_open  # noqa: E402


class ConvLSTMChange(torch.nn.Module):
    """A ConvLSTM stack with a 1x1 head on every step (Strata `output: sequence`, head conv1x1, no activation)."""

    def __init__(self, tensors, config):
        super().__init__()
        if config.get("space_to_depth", 1) != 1:
            raise SystemExit("rasterio_predict.py: space_to_depth models are not supported by this peer script")
        self.gates = torch.nn.ModuleList()
        self.hidden = config["hidden"]
        channels = config["input_channels"]
        for i, (hidden, kernel) in enumerate(zip(self.hidden, config["kernel"])):
            conv = torch.nn.Conv2d(channels + hidden, 4 * hidden, kernel, padding=kernel // 2)
            conv.weight.data = torch.from_numpy(tensors[f"layers.{i}.weight"])
            conv.bias.data = torch.from_numpy(tensors[f"layers.{i}.bias"])
            self.gates.append(conv)
            channels = hidden
        self.head = torch.nn.Conv2d(channels, config["head"]["outputs"], 1)
        self.head.weight.data = torch.from_numpy(tensors["head.weight"])
        self.head.bias.data = torch.from_numpy(tensors["head.bias"])

    def forward(self, x):
        """x [B, T, C, H, W] -> logits [B, T, O, H, W]."""
        b, t, _, h, w = x.shape
        sequence = x
        for conv, hidden in zip(self.gates, self.hidden):
            state_h = x.new_zeros(b, hidden, h, w)
            state_c = x.new_zeros(b, hidden, h, w)
            outputs = []
            for step in range(t):
                z = conv(torch.cat([sequence[:, step], state_h], dim=1))
                i, f, g, o = torch.split(z, hidden, dim=1)
                state_c = torch.sigmoid(f) * state_c + torch.sigmoid(i) * torch.tanh(g)
                state_h = torch.sigmoid(o) * torch.tanh(state_c)
                outputs.append(state_h)
            sequence = torch.stack(outputs, dim=1)
        return torch.stack([self.head(sequence[:, step]) for step in range(t)], dim=1)


def load_checkpoint(path):
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    config = json.loads(metadata["config"])
    normalization = json.loads(metadata["normalization"])
    return tensors, config, normalization


def receptive_radius(config, steps):
    """Strata's rule (CheckpointPredictor.receptiveRadius): sum of layer radii + (T - 1) * widest radius."""
    radii = [(k - 1) // 2 for k in config["kernel"][: len(config["hidden"])]]
    return sum(radii) + max(0, steps - 1) * max(radii)


def starts(size, tile, stride):
    """Window starts along one axis: every stride from 0, the last shifted back to end at the edge."""
    if size <= tile:
        return [0]
    result = list(range(0, size - tile, stride))
    result.append(size - tile)
    return sorted(set(result))


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", help="one raster per date, oldest first, same grid")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=None,
                        help="default (as strata predict): receptive radius + tile // 16, 0 at radius 0")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--model", default="", help="name to report (convlstm, pixel)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open("/proc/loadavg") as f:
        load = float(f.read().split()[0])

    tensors, config, normalization = load_checkpoint(args.checkpoint)
    model = ConvLSTMChange(tensors, config).eval()
    mean = np.asarray(normalization["mean"], dtype=np.float32)[None, :, None, None]
    std = np.asarray(normalization["std"], dtype=np.float32)[None, :, None, None]

    run_start = time.monotonic()
    sources = [rasterio.open(path) for path in args.inputs]
    width, height, bands, steps = sources[0].width, sources[0].height, sources[0].count, len(sources)
    tile = args.tile
    overlap = args.overlap
    if overlap is None:
        radius = receptive_radius(config, steps)
        overlap = 0 if radius == 0 else min(radius + tile // 16, (tile - 1) // 2)
    stride = tile - 2 * overlap
    profile = dict(driver="GTiff", width=width, height=height, count=2, dtype="float32", nodata=-9999.0,
                   crs=sources[0].crs, transform=sources[0].transform, tiled=True, blockxsize=256,
                   blockysize=256, compress="deflate", predictor=3, BIGTIFF="IF_SAFER")
    tiles = 0
    with rasterio.open(args.out, "w", **profile) as dst, torch.inference_mode():
        dst.set_band_description(1, "change_probability")
        dst.set_band_description(2, "change_date")
        for y0 in starts(height, tile, stride):
            for x0 in starts(width, tile, stride):
                window = Window(x0, y0, min(tile, width), min(tile, height))
                stack = np.stack([src.read(window=window) for src in sources])  # [T, C, h, w]
                x = torch.from_numpy((stack - mean) / std)[None]
                logits = model(x)[0, :, 0].numpy()  # [T, h, w]
                probability = 1 / (1 + np.exp(-logits[-1]))
                positive = logits > 0
                date = np.where(positive.any(axis=0), positive.argmax(axis=0), -1).astype(np.float32)
                # Keep the core: drop the margins except where the tile touches the image edge.
                left = 0 if x0 == 0 else overlap
                top = 0 if y0 == 0 else overlap
                right = window.width if x0 + window.width >= width else window.width - overlap
                bottom = window.height if y0 + window.height >= height else window.height - overlap
                core = np.stack([probability, date])[:, top:bottom, left:right].astype(np.float32)
                dst.write(core, window=Window(x0 + left, y0 + top, right - left, bottom - top))
                tiles += 1
    for src in sources:
        src.close()
    seconds = time.monotonic() - run_start
    print(json.dumps({
        "bands": bands, "dates": steps, "dtype": "float32", "framework": "pytorch-rasterio",
        "gdal_cache_mib": int(os.environ.get("GDAL_CACHEMAX", "0") or 0), "job_buffer_mib": None,
        "load_average": load, "megapixels_per_second": width * height / 1e6 / seconds, "model": args.model,
        "output": args.out, "overlap": overlap, "peak_rss_mib": peak_rss_mib(),
        "process_seconds": time.monotonic() - START, "seconds": seconds, "size": width, "threads": args.threads,
        "tile": tile, "tiles": tiles,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
