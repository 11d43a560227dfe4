"""rVAE reliability: how often the default settings recover angle and class.

The quality tests (``tests/test_rvae.py``) train one model; a variational
model trained from random weights may land in a different optimum for
another seed or another float summation order (thread count). This benchmark
trains ``eels_ae.RVAE`` with its defaults (window 13) on the test's training
image (:func:`eels_ae.data.motif_maps`, 96 x 96, ``random_state=1``) for many
``random_state`` values, encodes the test's second image (160 x 160,
``random_state=5``) and scores, at the motif centres,

- the Fisher-Lee circular correlation of the encoded angle with the true
  angle, per class (target >= 0.9 for both), and
- the adjusted Rand index of a 2-cluster k-means of the content latents
  against the true classes (target >= 0.9).

A run succeeds when both hold. Usage::

    python benchmarks/rvae_reliability.py --seeds 0-19 --threads 1 --jobs 2
    python benchmarks/rvae_reliability.py --seeds 0-9 --threads 2 --jobs 1
    python benchmarks/rvae_reliability.py --seeds 0-4 --family split

Each (threads) sweep is stored under its thread count in
``benchmarks/results/rvae_reliability.{md,json}``; a new sweep replaces the
one with the same thread count and keeps the others. Run with nothing else
on the machine only if the fit times matter (the scores do not depend on
load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Issue 27's targets (until then 0.9 and 0.9; the verdicts are recomputed
#: from the stored correlations when the page is rebuilt).
TARGET_R = 0.95
TARGET_ARI = 0.95
WINDOW = 13


def score(seed, family="default"):
    """Fit with ``random_state=seed`` and score against the ground truth."""
    from eels_ae import RVAE
    from eels_ae.data import motif_maps

    train = motif_maps((96, 96), min_distance=16, random_state=1, family=family)
    test = motif_maps((160, 160), min_distance=16, random_state=5, family=family)
    t0 = time.perf_counter()
    model = RVAE(window=WINDOW, random_state=seed, show_progressbar=False)
    model.fit(train.maps)
    fit_s = time.perf_counter() - t0
    scores = test.score(model.encode(test.maps))
    corr, ari = scores["angle_correlation"], scores["class_ari"]
    return dict(
        seed=seed,
        r_class0=round(corr[0], 4),
        r_class1=round(corr[1], 4),
        ari=round(ari, 4),
        fit_seconds=round(fit_s, 1),
        final_loss=round(float(model.best_loss_), 1),
    )


def worker(seeds, threads, family):
    import torch

    torch.set_num_threads(threads)
    for seed in seeds:
        print(json.dumps(score(seed, family)), flush=True)


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0-9", help="e.g. 0-19 or 0,3,5")
    p.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    p.add_argument("--jobs", type=int, default=1, help="fits run side by side")
    p.add_argument(
        "--family",
        default="default",
        help="motif family of eels_ae.data.motif_maps (default, split, dumbbell, "
        "cross): the others have a two- or four-fold symmetric body",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--render", action="store_true", help="only rewrite the .md from the .json"
    )
    args = p.parse_args()
    seeds = parse_seeds(args.seeds)
    if args.worker:
        return worker(seeds, args.threads, args.family)
    previous = HERE / "results" / "rvae_reliability.json"
    sweeps = json.loads(previous.read_text())["sweeps"] if previous.exists() else {}
    if not args.render:
        key = str(args.threads)
        if args.family != "default":
            key = f"{args.family}/{args.threads}"
        sweeps[key] = sweep(args, seeds)
    print(f"written {render(sweeps)}")


def sweep(args, seeds):
    """Run the fits (``args.jobs`` processes) and return the sweep record."""
    from _common import machine_info

    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                "--threads",
                str(args.threads),
                "--seeds",
                ",".join(map(str, seeds[j :: args.jobs])),
                "--family",
                args.family,
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for j in range(args.jobs)
        if seeds[j :: args.jobs]
    ]
    runs = []
    for proc in procs:
        for line in proc.stdout:
            runs.append(json.loads(line))
            print(line.strip(), flush=True)
        if proc.wait() != 0:
            raise RuntimeError("a worker failed")
    runs.sort(key=lambda r: r["seed"])

    return dict(
        threads=args.threads,
        jobs=args.jobs,
        family=args.family,
        machine=machine_info(),
        runs=runs,
    )


#: What was tried for issue 27 (the half-turn of motifs whose body is two-
#: or four-fold symmetric), measured with scratch scripts on this page's
#: images, seeds 0-2, 2 threads, one fit at a time; not kept.
TRIED = """\
## Tried for the symmetric-body families, not kept (issue 27)

Class 1 (three lobes) is found in every run of every family; class 0 of
the 'split', 'dumbbell' and 'cross' families is what fails. Diagnosis on
'dumbbell' seed 0 (angle r 0.63): the encoder's angle is off by a median of
15 degrees (up to 60) at the class-0 centres, but the decoder's template is
right: trying 72 angles per window with the decoded template (the angle of
least misfit) gives r = 0.998 for both classes. The encoder, not the
decoder, limits the angle there.

- Angle by template matching at encoding (72 angles over the circle, each
  window compared with the template of its own latents, turned; a
  parabola between the best and its neighbours), with the encoder's hidden
  layers 256 wide: class-0 r 'dumbbell' 0.999 / 0.999 / 0.998 (encoder
  alone 0.76 / 0.91 / 0.75), 'split' 0.999 / 0.19 / 0.76 (encoder 0.94 /
  0.96 / 0.72), 'cross' 0.21 / 0.49 / 0.00 (encoder 0.12 / 0.61 / 0.03),
  'default' 0.998 / 0.57 / 0.995 (encoder 0.99 / 0.78 / 0.99). Where the
  decoder's template is nearly symmetric (split seed 1: the misfit a half
  turn away 2 % lower than at the encoder's right angle, for both classes)
  matching breaks a right encoder; on 'cross' the template itself is wrong.
  Matching only within 30-60 degrees of the encoder's angle keeps the
  right encoders (split seed 1: 0.999) but does not repair the half turns
  (dumbbell seeds 0 and 2: 0.78-0.90).
- A label-free check of the angles (the brightest windows turned by random
  angles and encoded again; mean cosine of the angle's error): 0.96-0.98
  on runs whose class-0 r is 0.19-0.86, so it cannot warn; agreement of
  the encoder's and the matched angle on the brightest training windows:
  0.92-0.93 on the 'default' runs, 0.71-0.86 on 'split' / 'dumbbell',
  0.32-0.78 on 'cross': not a clean separation.
- Training that searches the half turns: for each window the half turn of
  the encoder's angle whose decoded patch fits best is used in the
  reconstruction, with the encoder pulled towards it (from the start or
  after the translation warm-up), or the encoder pulled towards the
  matched angle: the content latents lose the classes ('dumbbell' ARI
  -0.01 to 0.70) and the angles do not improve; without the pull the
  classes stay but class 0 does not improve (r 0.69 / 0.21).
- The encoder alone 256 or 512 wide, or 3 layers: better on some seeds,
  worse on others (e.g. 'split' seed 2 with 512: class ARI 0.02).
"""


def render(sweeps):
    """Write the results files; returns the path of the .md."""
    from _common import write_results

    lines = [
        "# rVAE reliability over seeds (default settings)\n",
        "Train: `motif_maps((96, 96), min_distance=16, random_state=1, "
        "family=...)`; scored on the unseen "
        "`motif_maps((160, 160), min_distance=16, random_state=5, family=...)` at "
        "the motif "
        f"centres; `RVAE(window={WINDOW}, random_state=seed)`, everything else "
        "default. Success: angle circular correlation >= "
        f"{TARGET_R} for both classes and class ARI >= {TARGET_ARI}. Each sweep "
        "ran with no other torch process on the machine.\n",
    ]

    def order(key):
        family, _, threads = key.rpartition("/")
        return (family, int(threads))

    def ok(r):
        return min(r["r_class0"], r["r_class1"]) >= TARGET_R and r["ari"] >= TARGET_ARI

    for key in sorted(sweeps, key=order):
        sw = sweeps[key]
        rs = sw["runs"]
        n_ok = sum(ok(r) for r in rs)
        m = sw["machine"]
        family = sw.get("family", "default")
        lines += [
            f"## Motifs {family!r}: {sw['threads']} torch thread(s) per fit, "
            f"{sw['jobs']} fit(s) side by side\n",
            f"Machine: {m['cpu']}, {m['cpu_count']} cores, torch {m.get('torch')}, "
            f"{m['date']}.\n",
            f"**Both targets met in {n_ok} of {len(rs)} runs** "
            f"({100 * n_ok / len(rs):.0f} %); the angle target in "
            f"{sum(min(r['r_class0'], r['r_class1']) >= TARGET_R for r in rs)}, "
            f"the class target in {sum(r['ari'] >= TARGET_ARI for r in rs)}.\n",
            "| seed | angle r (class 0) | angle r (class 1) | class ARI | both | "
            "fit (s) | final loss |",
            "| ---: | ---: | ---: | ---: | :---: | ---: | ---: |",
        ]
        for r in rs:
            lines.append(
                f"| {r['seed']} | {r['r_class0']:.3f} | {r['r_class1']:.3f} | "
                f"{r['ari']:.3f} | {'yes' if ok(r) else 'no'} | "
                f"{r['fit_seconds']:.0f} | {r['final_loss']:.0f} |"
            )
        lines.append("")
    lines.append(TRIED)
    return write_results(
        "rvae_reliability", {"sweeps": sweeps}, "\n".join(lines) + "\n"
    )


if __name__ == "__main__":
    main()
