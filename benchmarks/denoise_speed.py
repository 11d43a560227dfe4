"""The speed issue's denoising case: ``s.denoise_ae()`` defaults on 64 x 64 x
240 low-dose images, beside HyperSpy's PCA on the same image in the same run.

Per seed (image and network), on :func:`eels_ae.data.lowdose_spectrum_image`
(O K edge, two oxidation states in 16-pixel blocks, 1.5 eV drift, thickness
0.6-1.3, ~15 counts per channel at the edge): the wall time of the fit and
of ``denoise``, the MSE to the clean truth over that of the best of
HyperSpy's PCA-3/PCA-5 reconstructions (with and without Poisson
normalisation), and the mean edge-onset error (``benchmarks/denoise.py``'s
measures). Targets of the speed issue: <= 20 s with MSE <= 0.3x the best
PCA.

Run alone (one PyTorch process on the machine): ``python
benchmarks/denoise_speed.py`` (about four minutes on two cores;
``--markdown`` rebuilds the page from the last JSON).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    machine_info,
    machine_markdown,
    rebuild_markdown,
    write_results,
)
from denoise import Scorer, make_image, pca_model  # noqa: E402

SHAPE = (64, 64)
SEEDS = (0, 1, 2)
TARGET_SECONDS = 20.0
TARGET_RATIO = 0.3


def run_seed(seed, edge="O K", keep=False, **params):
    """Fit ``DenoisingAE(**params)`` (defaults otherwise) on the image of
    ``seed`` and ``edge``; time it and score it beside PCA. With ``keep``,
    also return the fitted estimator and the image."""
    import eels_ae

    si = make_image(SHAPE, seed, 15, edge=edge)
    s = si.signal
    score = Scorer(si, si.clean, si.background_range)
    t0 = time.perf_counter()
    pcas = {
        f"PCA-{k}{' (Poisson)' if p else ''}": pca_model(s, k, p)
        for k in (3, 5)
        for p in (False, True)
    }
    pca_seconds = (time.perf_counter() - t0) / len(pcas)
    pca_scores = {label: score(d) for label, d in pcas.items()}
    best = min(pca_scores, key=lambda k: pca_scores[k]["mse"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        est = eels_ae.DenoisingAE(
            random_state=seed, show_progressbar=False, **params
        ).fit(s)
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        den = est.denoise(s)
        denoise_seconds = time.perf_counter() - t0
    ours = score(den)
    row = dict(
        seed=seed,
        fit_seconds=fit_seconds,
        denoise_seconds=denoise_seconds,
        total_seconds=fit_seconds + denoise_seconds,
        epochs=est.n_epochs_,
        pca_seconds=pca_seconds,
        best_pca=best,
        mse_over_best_pca=ours["mse"] / pca_scores[best]["mse"],
        best_pca_mse=pca_scores[best]["mse"],
        flagged_pct=ours["flagged_pct"],
        edge_err_ev=ours["edge_err_ev"],
        best_pca_edge_err_ev=pca_scores[best]["edge_err_ev"],
        edge_err_median_ev=ours["edge_err_median_ev"],
        best_pca_edge_err_median_ev=pca_scores[best]["edge_err_median_ev"],
    )
    return (row, est, si) if keep else row


#: What was tried to reach the time target, measured with this script's
#: image and seeds (MSE / best PCA of seeds 0, 1, 2; time of a fit).
TRIED = """\
What limits it: a training step is compute-bound (the five convolutions of
the encoder over the nine spectra of every neighbourhood: about 60 % of the time,
dropout 15 %, the optimiser 5 %), and the network needs its ~50 epochs to
leave the PCA-like plateau (MSE about 0.9x PCA) where it learns the edge
shifts. Tried on these images and seeds, and not kept:

- each pixel encoded once per 4 x 4 (or 2 x 2) training tile, its codes
  shared by the neighbourhoods it is in (the inference path, exact there):
  30 s (40 s), but MSE 0.90 / 0.89 / 0.49x PCA (0.28 / 0.55 / 0.37): tiles
  more often stay on the plateau; batches of 4 x 4 tiles with separate
  neighbourhoods gave 0.28 / 0.55 (so batch composition is part of it);
- the pixel and the mean of its neighbours as the network's two inputs
  instead of nine: 29 s, MSE 0.42 / 0.64 / 0.54x PCA;
- 30 epochs at twice the learning rate: 36 s, 0.41 / 0.34 / 0.28;
- on a 96 x 192 image, 12 epochs (as many steps as 50 epochs of 64 x 64):
  0.96 / 0.72 (30 epochs: 0.36): the epochs, not the steps, count;
- bfloat16 autocast on this CPU: no faster.

Kept: no dropout by default (with RapidEELS' 0.2, the default until
then, the same run gave 58-65 s and MSE 0.26-0.34x; also on oxide scenes
and the real scan no worse without it, see the DenoisingAE notes); each
spectrum encoded once at inference, exact (``denoise`` 1.05-1.35 ->
0.36-0.51 s); dropout masks, where asked for, from 64-bit words (their
cost per step 7.1 -> 4.6 ms)."""


def render(rows, info):
    lines = [
        "# Denoising speed: `s.denoise_ae()` defaults on 64 x 64 x 240",
        "",
        __doc__.split("\n\n")[1].replace("\n", " ").strip(),
        "",
        "| seed | fit (s) | denoise (s) | total (s) | HyperSpy PCA (s) "
        "| MSE / best PCA | edge error (eV) | best PCA's edge error (eV) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['fit_seconds']:.1f} | {r['denoise_seconds']:.2f} "
            f"| {r['total_seconds']:.1f} | {r['pca_seconds']:.2f} "
            f"| {r['mse_over_best_pca']:.3f} ({r['best_pca']}) "
            f"| {r['edge_err_ev']:.3f} | {r['best_pca_edge_err_ev']:.3f} |"
        )
    total = np.median([r["total_seconds"] for r in rows])
    ratio = np.median([r["mse_over_best_pca"] for r in rows])
    lines += [
        "",
        f"Median: {total:.1f} s (target <= {TARGET_SECONDS:g} s: "
        f"{'met' if total <= TARGET_SECONDS else '**not met**'}), MSE "
        f"{ratio:.3f}x the best PCA (target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else '**not met**'}).",
        "",
        TRIED,
        "",
        "The machine ran no other PyTorch process.",
        "",
        machine_markdown(info),
    ]
    return "\n".join(lines) + "\n"


def main():
    if "--markdown" in sys.argv:  # rebuild the page from the last JSON
        print(rebuild_markdown("denoise_speed", render))
        return
    info = machine_info()
    rows = []
    for seed in SEEDS:
        rows.append(run_seed(seed))
        print(rows[-1], flush=True)
    payload = {"machine": info, "rows": rows}
    print(write_results("denoise_speed", payload, render(rows, info)))


if __name__ == "__main__":
    main()
