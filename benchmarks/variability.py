"""Spectral variability: every pixel's spectra shifted and broadened by its
own amount.

Endmember variability of the kind the linear mixing model has no room for:
each pixel's spectrum is shifted by its own random amount (uniform in
+-0.75 eV, independent from pixel to pixel: not a drift, which is smooth)
and blurred by its own Gaussian (standard deviation uniform in 0-1 eV), then
drawn with Poisson noise. Three scenes: the 4-component chequerboards of
:func:`eels_ae.data.chequerboard_spectrum_image` (M/L and K sets, 10000
counts per spectrum) and the oxide grains of :func:`eels_ae.data.oxide_scene`'s
``CrCoNi`` edges (5000 counts per spectrum). Every name with its defaults
beside HyperSpy's NMF (scikit-learn, Frobenius; its loadings divided by
their sum at each pixel, as a user would read them as fractions), scored
against the unshifted, unbroadened endmembers and the true abundances: mean
SAD (degrees, after matching) and abundance NMSE, 3 seeds, ratios to NMF of
the same images. Nothing was tuned on these scenes.

Run: ``python benchmarks/variability.py`` (about 6 minutes on 2 cores,
nothing else running).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    doc_body,
    fit_and_score,
    machine_info,
    machine_section,
    write_results,
)

warnings.filterwarnings("ignore")

SCENES = ("M/L chequerboard", "K chequerboard", "CrCoNi oxide grains")
SEEDS = (0, 1, 2)
SHIFT_EV = 0.75
BLUR_EV = 1.0
BASELINE = "NMF (as in HyperSpy)"


def scene(name, seed):
    """The scene ``name`` with per-pixel shifts and blurs, seeded."""
    import eels_ae
    from eels_ae.data.scenes import _grains, oxide_endmembers
    from eels_ae.data.synthetic import mixed_spectrum_image

    rng = np.random.default_rng(seed)
    shape = (64, 64) if "chequerboard" in name else (48, 48)
    shift = rng.uniform(-SHIFT_EV, SHIFT_EV, shape)
    blur = rng.uniform(0.0, BLUR_EV, shape)
    if "chequerboard" in name:
        return eels_ae.data.chequerboard_spectrum_image(
            "ml" if name.startswith("M/L") else "k",
            dose=1e4,
            random_state=seed,
            shift=shift,
            broadening=blur,
        )
    es = oxide_endmembers("CrCoNi")
    return mixed_spectrum_image(
        es, _grains(shape, rng), 5000.0, rng, shift=shift, broadening=blur
    )


def methods(R, seed):
    from sklearn.decomposition import NMF

    import eels_ae

    quiet = dict(random_state=seed, show_progressbar=False)
    return {
        BASELINE: NMF(R, random_state=seed, max_iter=500),
        "VCA": eels_ae.VCA(R, random_state=seed),
        "N-FINDR": eels_ae.NFINDR(R, random_state=seed),
        "DAEU": eels_ae.DAEU(R, **quiet),
        "uDAS": eels_ae.UDAS(R, **quiet),
        "MTAEU": eels_ae.MTAEU(R, **quiet),
        "CNNAEU": eels_ae.CNNAEU(R, **quiet),
        "VAEU": eels_ae.VAEU(R, **quiet),
        "drift_aware": eels_ae.DriftAwareUnmixing(R, random_state=seed),
    }


def run(name, seed):
    """``{method: (SAD, NMSE, seconds)}`` on one image."""
    syn = scene(name, seed)
    return {
        label: fit_and_score(syn, est, fractions=label == BASELINE)
        for label, est in methods(len(syn.endmember_array), seed).items()
    }


def main():
    info = machine_info()
    payload = {"machine": info, "results": []}
    md = ["# Spectral variability", "", doc_body(__doc__), ""]
    md += [
        "| scene | method | SAD (deg) | SAD / NMF | NMSE | NMSE / NMF | time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in SCENES:
        per = {}
        for seed in SEEDS:
            for label, v in run(name, seed).items():
                per.setdefault(label, []).append(v)
        base = np.mean(per[BASELINE], axis=0)
        for label, vals in per.items():
            v = np.mean(vals, axis=0)
            payload["results"].append(
                dict(
                    scene=name,
                    method=label,
                    sad=v[0],
                    nmse=v[1],
                    time=v[2],
                    sad_ratio=v[0] / base[0],
                    nmse_ratio=v[1] / base[1],
                    sad_seeds=[x[0] for x in vals],
                    nmse_seeds=[x[1] for x in vals],
                )
            )
            row = (
                f"| {name} | {label} | {v[0]:.2f} | {v[0] / base[0]:.2f} "
                f"| {v[1]:.3f} | {v[1] / base[1]:.2f} | {v[2]:.1f} |"
            )
            md.append(row)
            print(row, flush=True)
    md += [""] + machine_section(info)
    print(write_results("variability", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
