"""Peak memory of unmixing a lazy, on-disk spectrum image larger than 2 GB.

Writes (once) a 512 x 512 x 2048 float32 chequerboard spectrum image (2.1 GB)
to ``benchmarks/_scratch/`` with HyperSpy, then, each in a fresh process,
loads it with ``hs.load(..., lazy=True)`` and runs

- eels_ae DAEU (every epoch streamed from disk, block by block),
- eels_ae VCA + FCLS,
- HyperSpy's lazy NMF (scikit-learn MiniBatchNMF, one pass of partial_fit),

recording wall time, the resident memory after the imports (baseline) and
the peak resident memory (sampled every 20 ms, and ``ru_maxrss``). Target:
DAEU's peak resident memory under 25 % of the data size. Results go to
``benchmarks/results/lazy_memory.{md,json}``.

Run: ``python benchmarks/lazy_memory.py`` (about 10 minutes on 2 cores, 2.1 GB
of disk); ``--size 256`` for a quick 0.5 GB run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, machine_markdown, write_results  # noqa: E402

SCRATCH = HERE / "_scratch"
CHANNELS = 2048
ROWS_PER_CHUNK = 4


def make_file(size, width):
    """Write the on-disk spectrum image chunk by chunk (never whole in memory)."""
    path = SCRATCH / f"chequerboard_{size}x{width}x{CHANNELS}.hspy"
    if path.exists():
        return path
    import dask.array as da
    import numpy as np
    from exspy.signals import EELSSpectrum

    import eels_ae

    SCRATCH.mkdir(exist_ok=True)
    es = eels_ae.data.endmembers_ml(offset=200.0, scale=0.33, size=CHANNELS)
    A = eels_ae.data.chequerboard_abundances(
        3, shape=(size, width), block=64, k=65, random_state=0
    )
    M = es.spectra * (2e4 / es.spectra.sum(axis=1, keepdims=True))

    def block(block_id=None):
        i = block_id[0]
        a = A[:, i * ROWS_PER_CHUNK : (i + 1) * ROWS_PER_CHUNK]
        clean = np.einsum("ryx,rb->yxb", a, M)
        rng = np.random.default_rng([0, i])
        return rng.poisson(clean).astype(np.float32)

    n = size // ROWS_PER_CHUNK
    data = da.map_blocks(
        block, dtype=np.float32, chunks=((ROWS_PER_CHUNK,) * n, (width,), (CHANNELS,))
    )
    s = EELSSpectrum(data).as_lazy()
    ax = s.axes_manager.signal_axes[0]
    ax.offset, ax.scale, ax.units, ax.name = es.offset, es.scale, "eV", "Energy loss"
    t0 = time.perf_counter()
    s.save(path, chunks=(ROWS_PER_CHUNK, width, CHANNELS))
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


CHILD = r"""
import json, resource, sys, threading, time
import psutil
import exspy  # noqa: F401  (loaded by hs.load anyway; counted in the baseline)
import hyperspy.api as hs
import eels_ae
hs.preferences.General.show_progressbar = False
proc = psutil.Process()
base = proc.memory_info().rss
peak = [base]
stop = False
def sample():
    while not stop:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
s = hs.load(sys.argv[1], lazy=True)
method = sys.argv[2]
t0 = time.perf_counter()
if method == "daeu":
    s.decomposition(algorithm="daeu", output_dimension=3, print_info=False,
                    max_epochs=3, warmup_epochs=2, random_state=0)
    est = s.learning_results.decomposition_algorithm
    extra = {"epochs": est.n_epochs_}
elif method == "vca":
    s.decomposition(algorithm="vca", output_dimension=3, print_info=False,
                    random_state=0)
    extra = {}
else:
    s.decomposition(algorithm="NMF", output_dimension=3, print_info=False)
    extra = {}
import numpy as np
np.asarray(s.learning_results.loadings).sum()
elapsed = time.perf_counter() - t0
stop = True
time.sleep(0.05)
print(json.dumps(dict(method=method, seconds=elapsed, baseline_rss=base,
                      peak_rss=max(peak[0], resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss * 1024), **extra)))
"""


def run_child(path, method):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), method], capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512, help="image rows (pixels)")
    p.add_argument("--width", type=int, default=512, help="image columns")
    p.add_argument("--name", default="lazy_memory", help="results file name")
    args = p.parse_args(argv)
    path = make_file(args.size, args.width)
    nbytes = args.size * args.width * CHANNELS * 4
    info = machine_info()
    rows = []
    for method in ("daeu", "vca", "nmf"):
        r = run_child(path, method)
        rows.append(r)
        print(json.dumps(r), flush=True)
    GB = 1e9
    lines = [
        "# Lazy unmixing of an on-disk spectrum image",
        "",
        f"{args.size} x {args.width} pixels x {CHANNELS} channels float32 "
        f"(.hspy, chunks of {ROWS_PER_CHUNK} image rows): "
        f"**{nbytes / GB:.2f} GB**. Each method in a fresh process; "
        "baseline = resident memory after importing HyperSpy, eels_ae and "
        "torch; peak = highest resident memory during the call.",
        "",
        "## Machine",
        "",
        machine_markdown(info),
        "",
        "| method | time (s) | baseline RSS (GB) | peak RSS (GB) | "
        "peak / data size | (peak - baseline) / data size |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "daeu": "eels_ae DAEU (3 + 2 warm-up epochs, streamed)",
        "vca": "eels_ae VCA + FCLS",
        "nmf": "HyperSpy lazy NMF (one pass)",
    }
    for r in rows:
        lines.append(
            f"| {names[r['method']]} | {r['seconds']:.1f} | "
            f"{r['baseline_rss'] / GB:.2f} | {r['peak_rss'] / GB:.2f} | "
            f"{r['peak_rss'] / nbytes:.1%} | "
            f"{(r['peak_rss'] - r['baseline_rss']) / nbytes:.1%} |"
        )
    lines.append("")
    md = "\n".join(lines)
    write_results(
        args.name,
        dict(
            machine=info,
            data_bytes=nbytes,
            size=args.size,
            width=args.width,
            results=rows,
        ),
        md,
    )
    print(md)


if __name__ == "__main__":
    main()
