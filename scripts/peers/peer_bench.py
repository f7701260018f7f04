"""What the training-benchmark peers share: the configurations, the flop count, and the command line that runs each
case in a fresh interpreter and prints one JSON line (or table row) per case. Used by pytorch_convlstm_bench.py and
keras_convlstm_bench.py; never by Strata."""
import argparse
import json
import subprocess
import sys

CONFIGS = {
    # name: batch, steps, size, input channels, hidden per layer, kernel (as Strata's TrainBenchConfig)
    "a": dict(batch=4, steps=10, size=64, cin=1, hidden=[64], kernel=5),
    "b": dict(batch=8, steps=12, size=32, cin=6, hidden=[32, 32], kernel=3),
    "c": dict(batch=16, steps=24, size=16, cin=4, hidden=[16], kernel=3),
}


def flops_per_step(cfg):
    """Convolution flops forward + 2x backward, counted exactly as Strata's TrainBenchConfig.flopsPerStep."""
    images, pixels = cfg["batch"] * cfg["steps"], cfg["size"] ** 2
    forward, below = 0.0, cfg["cin"]
    for ch in cfg["hidden"]:
        forward += 2 * 4 * ch * (below + ch) * cfg["kernel"] ** 2 * pixels * images
        below = ch
    forward += 2 * cfg["cin"] * below * pixels * images
    return 3 * forward


def table_row(r):
    return (f"{r['config']:<8}{r['precision']:<11}{r['threads']:<9}{r['seconds_per_step']:>12.4f}"
            f"{r['peak_rss_mib']:>11.1f}{r['gflops']:>10.1f}")


def main(description, script, measure, extra=None):
    """Parses the shared options, then for every case runs `script` again in a fresh interpreter (so ru_maxrss is
    that case's peak alone) or, in that child (--in-process), calls measure(config, precision, threads, steps,
    warmup) -> dict. `extra(parser)` may add options; it returns a function of the parsed arguments that returns
    True when it handled them (and the cases should not run)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default="a,b,c", help="comma-separated: a, b, c")
    p.add_argument("--precision", default="fp32,bf16", help="comma-separated: fp32, bf16")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--steps", type=int, default=10, help="timed steps (the median is reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    handled = extra(p) if extra else None
    a = p.parse_args()
    if handled and handled(a):
        return
    cases = [(c, pr, int(t)) for c in a.config.split(",") for pr in a.precision.split(",")
             for t in a.threads.split(",")]
    if not a.json:
        print(f"{'config':<8}{'precision':<11}{'threads':<9}{'s/step':>12}{'RSS MiB':>11}{'GFLOP/s':>10}")
    for c, pr, t in cases:
        if a.in_process:
            result = measure(c, pr, t, a.steps, a.warmup)
        else:
            out = subprocess.run([sys.executable, script, "--in-process", "--json", "--config", c, "--precision",
                                  pr, "--threads", str(t), "--steps", str(a.steps), "--warmup", str(a.warmup)],
                                 check=True, capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(result) if a.json else table_row(result), flush=True)
