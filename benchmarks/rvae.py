"""rVAE benchmark: training throughput and peak memory, side by side with atomai.

1. **Throughput.** One set of multichannel windows (``--n-patches`` windows of
   16 x 16 pixels x 3 channels, cut from :func:`eels_ae.data.motif_maps`) is
   trained for ``--epochs`` epochs at batch 128, latent_dim 2, translation on,
   with 2 torch threads, by

   - ``eels_ae.RVAE`` at its defaults (hidden 64), from the maps (the windows
     are cut band by band during training: that cost is included);
   - ``eels_ae.RVAE`` with hidden=128 (atomai's layer width);
   - atomai 0.8.1's ``rVAE`` (``in_dim=(16, 16, 3)``) on the same windows,
     held in memory as its API requires, if its venv exists (below).

   Each runs in a fresh process; we report windows per second of training and
   the peak resident memory of that process (``ru_maxrss``; it includes
   importing torch, reported separately as the baseline).
2. **Large maps.** 512 x 512 maps with 3 channels and a 32-pixel window:
   231,361 windows, 2.8 GB if materialised (3.2 GB at every pixel).
   ``eels_ae.RVAE`` is fitted (one epoch of a 20,000-window subsample,
   ``patches_per_epoch``) on a dask array and then encodes all 231,361
   windows; we report its peak memory.

Results go to ``benchmarks/results/rvae.{md,json}``.

atomai's venv (git-ignored, never a dependency of eels_ae): ::

    cd benchmarks/_scratch
    python3 -m venv atomai_venv
    atomai_venv/bin/pip install torch==2.13.0      # the CPU wheel, first
    atomai_venv/bin/pip install atomai==0.8.1 six  # pulls torchvision + CUDA torch
    atomai_venv/bin/pip uninstall -y torchvision torch triton cuda-toolkit \\
        cuda-bindings cuda-pathfinder \\
        $(atomai_venv/bin/pip list | awk '/^nvidia-/{print $1}')
    atomai_venv/bin/pip install torch==2.13.0      # back to the CPU wheel
    # atomai imports torchvision at module level only: stub it
    SP=atomai_venv/lib/python3.11/site-packages
    mkdir -p $SP/torchvision/models $SP/torchvision/utils
    touch $SP/torchvision/__init__.py
    printf 'def _x(*a, **k):\\n    raise ImportError\\n' \\
        > $SP/torchvision/models/__init__.py
    echo 'mobilenet_v2 = resnet50 = vgg16 = _x' >> $SP/torchvision/models/__init__.py
    printf 'def make_grid(*a, **k):\\n    raise ImportError\\n' \\
        > $SP/torchvision/utils/__init__.py

(``benchmarks/_scratch/atomai_venv/NOTES.txt`` has the same steps.)

Run:

- ``python benchmarks/rvae.py``: 20,000 windows, 2 epochs each, and the
  512 x 512 case (about 5-10 min on 2 idle cores);
- ``python benchmarks/rvae.py --quick``: 5,000 windows, 1 epoch, and a
  256 x 256 "large" case (to check the code path).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ATOMAI_PYTHON = HERE / "_scratch" / "atomai_venv" / "bin" / "python"
WINDOW = 16
BATCH = 128
THREADS = 2

#: Targets of the issue.
TARGET_SPEEDUP = 2.0
TARGET_LARGE_GB = 2.0
#: Measured anchor (issue): atomai's rVAE on 16 x 16 x 3 windows, batch 128.
ANCHOR = "atomai rVAE: ~700 windows/s (16x16x3, batch 128, 2 threads), ~1 GB for 20,000"


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def maps_for(n_patches, seed=0):
    """Motif maps whose 16-pixel windows number about ``n_patches``."""
    from eels_ae.data import motif_maps

    side = int(round(np.sqrt(n_patches))) + WINDOW - 1
    n = max(1, side * side // 300)
    return motif_maps((side, side), n_motifs=n, min_distance=14, random_state=seed)


# -- workers (each in its own process) ----------------------------------------
def worker_ours(args):
    import torch

    torch.set_num_threads(THREADS)
    from eels_ae import RVAE

    base = peak_mb()
    maps = np.load(args.maps)
    model = RVAE(
        window=WINDOW,
        hidden_width=args.hidden,
        patches_per_epoch=None,  # every window every epoch, as atomai
        batch_size=BATCH,
        max_epochs=args.epochs,
        tol=None,
        random_state=0,
        show_progressbar=False,
        device="cpu",
    )
    t = time.perf_counter()
    model.fit(maps)
    seconds = time.perf_counter() - t
    n = model.interior_shape_[0] * model.interior_shape_[1]
    return dict(
        seconds=seconds,
        patches=n,
        epochs=args.epochs,
        patches_per_s=n * args.epochs / seconds,
        peak_mb=peak_mb(),
        baseline_mb=base,
    )


def worker_atomai(args):
    import torch

    torch.set_num_threads(THREADS)
    from atomai.models import rVAE

    base = peak_mb()
    maps = np.load(args.maps)
    # The same windows as eels_ae's (same normalisation), materialised.
    lo, hi = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
    m = ((maps - lo) / (hi - lo)).astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(m, (WINDOW, WINDOW), axis=(0, 1))
    X = np.ascontiguousarray(np.moveaxis(view, 2, -1)).reshape(-1, WINDOW, WINDOW, 3)
    model = rVAE((WINDOW, WINDOW, 3), latent_dim=2, translation=True, seed=0)
    os.chdir(tempfile.mkdtemp())  # atomai saves the model after every epoch
    t = time.perf_counter()
    model.fit(X, training_cycles=args.epochs, batch_size=BATCH)
    seconds = time.perf_counter() - t
    return dict(
        seconds=seconds,
        patches=len(X),
        epochs=args.epochs,
        patches_per_s=len(X) * args.epochs / seconds,
        peak_mb=peak_mb(),
        baseline_mb=base,
    )


def worker_large(args):
    import dask.array as da
    import torch

    torch.set_num_threads(THREADS)
    from eels_ae import RVAE
    from eels_ae.data import motif_maps

    base = peak_mb()
    size, window = args.size, 32
    m = motif_maps((size, size), n_motifs=size * size // 1000, min_distance=24)
    maps = da.from_array(m.maps, chunks=(64, size, 3))
    del m
    model = RVAE(
        window=window,
        patches_per_epoch=20_000,
        max_epochs=1,
        batch_size=BATCH,
        random_state=0,
        show_progressbar=False,
        device="cpu",
    )
    t = time.perf_counter()
    model.fit(maps)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    codes = model.transform(maps)
    encode_s = time.perf_counter() - t
    n = codes.shape[0]
    return dict(
        size=size,
        window=window,
        patches=n,
        materialised_gb=n * window * window * 3 * 4 / 1e9,
        fit_seconds=fit_s,
        encode_seconds=encode_s,
        peak_mb=peak_mb(),
        baseline_mb=base,
    )


WORKERS = {"ours": worker_ours, "atomai": worker_atomai, "large": worker_large}


def run_worker(python, kind, **kw):
    cmd = [str(python), __file__, "--worker", kind]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- main ---------------------------------------------------------------------
def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", choices=sorted(WORKERS))
    p.add_argument("--maps")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--n-patches", type=int, default=20_000)
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--skip-large",
        action="store_true",
        help="only the throughput; keep the large-map figures of the last run",
    )
    args = p.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return

    from _common import machine_info, machine_markdown, write_results

    if args.quick:
        args.n_patches, args.epochs, args.size = 5_000, 1, 256
    maps = maps_for(args.n_patches).maps
    scratch = HERE / "_scratch"
    scratch.mkdir(exist_ok=True)
    maps_file = scratch / "rvae_maps.npy"
    np.save(maps_file, maps)
    runs = {}
    common = dict(maps=maps_file, epochs=args.epochs)
    runs["eels_ae RVAE (hidden 64, default)"] = run_worker(
        sys.executable, "ours", hidden=64, **common
    )
    runs["eels_ae RVAE (hidden 128)"] = run_worker(
        sys.executable, "ours", hidden=128, **common
    )
    if ATOMAI_PYTHON.exists():
        runs["atomai 0.8.1 rVAE (hidden 128)"] = run_worker(
            ATOMAI_PYTHON, "atomai", **common
        )
    large = None
    previous = HERE / "results" / ("rvae" + ("_quick" if args.quick else "") + ".json")
    if args.skip_large and previous.exists():
        # Keep the large-map figures of the last full run.
        large = json.loads(previous.read_text()).get("large")
    if not args.skip_large:
        try:
            large = run_worker(sys.executable, "large", size=args.size)
        except RuntimeError as err:  # keep the throughput figures
            print(err, file=sys.stderr)

    info = machine_info()
    lines = [
        "# rVAE benchmark\n",
        f"Command: `python benchmarks/rvae.py{' --quick' if args.quick else ''}`\n",
        "## Machine\n",
        machine_markdown(info),
        f"\n## Training throughput ({WINDOW}x{WINDOW}x3 windows, batch {BATCH}, "
        f"{THREADS} threads, {args.epochs} epoch(s))\n",
        f"Anchor (issue): {ANCHOR}.\n",
        "| model | windows | windows/s | peak MB | import baseline MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in runs.items():
        lines.append(
            f"| {name} | {r['patches']} | {r['patches_per_s']:.0f} | "
            f"{r['peak_mb']:.0f} | {r['baseline_mb']:.0f} |"
        )
    ratios = {}
    ref = runs.get("atomai 0.8.1 rVAE (hidden 128)")
    if ref:
        for name, r in runs.items():
            if name.startswith("eels_ae"):
                ratios[name] = r["patches_per_s"] / ref["patches_per_s"]
        lines.append("")
        for name, ratio in ratios.items():
            ok = "met" if ratio >= TARGET_SPEEDUP else "NOT met"
            lines.append(
                f"- {name}: {ratio:.2f}x atomai's throughput (target >= "
                f"{TARGET_SPEEDUP:g}x: {ok})"
            )
            print(f"{name}: {ratio:.2f}x atomai")
    else:
        lines.append("\natomai's venv is missing: no side-by-side ratio.")
    if large:
        ok = "met" if large["peak_mb"] / 1024 < TARGET_LARGE_GB else "NOT met"
        lines += [
            f"\n## {large['size']} x {large['size']} maps, window {large['window']}, "
            "3 channels (dask)\n",
            f"- windows: {large['patches']} ({large['materialised_gb']:.2f} GB if "
            "materialised)",
            f"- fit (1 epoch of 20,000 windows): {large['fit_seconds']:.1f} s; "
            f"encoding all windows: {large['encode_seconds']:.1f} s",
            f"- peak memory: {large['peak_mb']:.0f} MB (import baseline "
            f"{large['baseline_mb']:.0f} MB); target < {TARGET_LARGE_GB:g} GB: {ok}",
        ]
        print(f"large: peak {large['peak_mb']:.0f} MB")
    markdown = "\n".join(lines) + "\n"
    path = write_results(
        "rvae" + ("_quick" if args.quick else ""),
        {"machine": info, "throughput": runs, "ratios": ratios, "large": large},
        markdown,
    )
    print(markdown)
    print(f"written {path}")


if __name__ == "__main__":
    main()
