"""Unmixing when the linear model breaks: drift, no pure pixel, thickness,
broadening.

The chequerboard protocol of ``benchmarks/unmixing.py`` (64 x 64 pixels,
8 x 8 blocks, 9 x 9 averaging, Poisson noise at 10000 counts per spectrum)
with one variation at a time (:func:`eels_ae.data.chequerboard_spectrum_image`):

- ``drift``: the spectra shift by 0 to 1.5 eV across the scan (Pate et al. 2021);
- ``no pure pixel``: the last component never exceeds 60 % (the Ru case of
  Brun et al. 2024);
- ``thickness``: the intensity grows 1x to 2x along y;
- ``broadening``: the spectra are blurred by 0 to 1 eV (standard deviation)
  along y;

scored against the unshifted, unbroadened true endmembers and the true
abundances (SAD in degrees after matching, abundance NMSE), 3 seeds each
(5 before the autoencoders were added: 11 methods x 5 variants x 2 sets).
``eels_ae.DriftAwareUnmixing`` measures a shift per pixel relative to the
median one, so its endmembers sit at the median shift of the scan (0.75 eV
in the drift variant): it is also scored against the true endmembers moved
by that much, and its shift map against the true one less its median
(RMS, eV).
These are the baselines that drift-aware and variational unmixing have to
beat. Results: ``benchmarks/results/unmixing_variants.{md,json}``.

Every method runs with its defaults; VCA and DAEU also with
``intensity="per_pixel"`` (a free intensity per pixel, which VAEU has by
default).

Run: ``python benchmarks/unmixing_variants.py`` (about 35 minutes on 2 cores,
nothing else running); ``--variants "thickness 1-2x" --merge`` re-runs one
variant and keeps the stored rows of the others.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    doc_body,
    machine_info,
    machine_section,
    takes_image,
    write_results,
)

warnings.filterwarnings("ignore")

VARIANTS = {
    "none": {},
    "drift 1.5 eV": {"shift": 1.5},
    "no pure pixel": {"no_pure_component": -1},
    "thickness 1-2x": {"amplitude": 2.0},
    "broadening 1 eV": {"broadening": 1.0},
}
SEEDS = range(3)


def methods(R, seed):
    from sklearn.decomposition import NMF

    import eels_ae

    quiet = dict(random_state=seed, show_progressbar=False)
    return {
        "NMF (scikit-learn, as in HyperSpy)": NMF(R, random_state=seed, max_iter=500),
        "VCA+FCLS": eels_ae.VCA(R, random_state=seed),
        "VCA+FCLS, per-pixel intensity": eels_ae.VCA(
            R, random_state=seed, intensity="per_pixel"
        ),
        "N-FINDR+FCLS": eels_ae.NFINDR(R, random_state=seed),
        "DAEU": eels_ae.DAEU(R, **quiet),
        "DAEU, per-pixel intensity": eels_ae.DAEU(R, intensity="per_pixel", **quiet),
        "uDAS": eels_ae.UDAS(R, **quiet),
        "MTAEU": eels_ae.MTAEU(R, **quiet),
        "CNNAEU": eels_ae.CNNAEU(R, **quiet),
        "VAEU": eels_ae.VAEU(R, **quiet),
        "drift-aware (N-FINDR)": eels_ae.DriftAwareUnmixing(R, random_state=seed),
    }


def _gauge_scores(syn, est, A):
    """A drift-aware result against the truth at the median shift: SAD of
    the endmembers moved by it, RMS of the shift map less its median."""
    from eels_ae.energy_shift import shift_spectra
    from eels_ae.metrics import unmixing_scores

    scale = syn.signal.axes_manager[-1].scale
    true = np.zeros(A.shape[0]) if syn.shift is None else syn.shift.ravel()
    gauge = float(np.median(true))
    truth = shift_spectra(syn.endmember_array, gauge / scale)
    sad = unmixing_scores(truth, syn.abundance_array, est.components_, A.T)
    rms = np.sqrt(np.mean((est.channel_shift_ * scale - (true - gauge)) ** 2))
    return sad.mean_sad_deg, float(rms)


def _row(res):
    """One results-table row."""
    extra = "- | -"
    if not np.isnan(res["shift_rms_ev"]):
        extra = f"{res['sad_at_median_shift']:.2f} | {res['shift_rms_ev']:.3f}"
    return (
        f"| {res['variant']} | {res['method']} | {res['sad_mean']:.2f} +- "
        f"{res['sad_std']:.2f} | {res['nmse_mean']:.3f} +- "
        f"{res['nmse_std']:.3f} | {res['time']:.2f} | {extra} |"
    )


def main(argv=None):
    import argparse
    import json

    import eels_ae
    from eels_ae.metrics import unmixing_scores

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="*", default=list(VARIANTS))
    p.add_argument(
        "--merge",
        action="store_true",
        help="re-run only these variants; keep the stored rows of the others",
    )
    args = p.parse_args(argv)
    info = machine_info()
    payload = {"machine": info, "results": [], "notes": []}
    stored = Path(__file__).resolve().parent / "results" / "unmixing_variants.json"
    if args.merge:
        old = json.loads(stored.read_text())
        payload["results"] = [
            r for r in old["results"] if r["variant"] not in args.variants
        ]
        payload["notes"] = old.get("notes", []) + [
            f"Variants {args.variants} re-run on {info['date'][:10]} with the "
            "defaults of that day (the machine otherwise idle); the other rows "
            f"are from {old['machine']['date'][:10]}."
        ]
    for set_name in ("ml", "k"):
        for variant, kw in VARIANTS.items():
            if variant not in args.variants:
                continue
            kw = dict(kw)
            scores = {}
            for seed in SEEDS:
                if kw.get("no_pure_component") == -1:
                    kw["no_pure_component"] = 2 if set_name == "ml" else 3
                syn = eels_ae.data.chequerboard_spectrum_image(
                    set_name, dose=1e4, random_state=seed, **kw
                )
                X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
                R = len(syn.names)
                for label, est in methods(R, seed).items():
                    data = syn.signal.data if takes_image(est) else X
                    t0 = time.perf_counter()
                    A = est.fit_transform(data)
                    dt = time.perf_counter() - t0
                    sc = unmixing_scores(
                        syn.endmember_array, syn.abundance_array, est.components_, A.T
                    )
                    gauge_sad = rms = np.nan
                    if hasattr(est, "channel_shift_"):
                        gauge_sad, rms = _gauge_scores(syn, est, A)
                    scores.setdefault(label, []).append(
                        (sc.mean_sad_deg, sc.mean_nmse, dt, gauge_sad, rms)
                    )
            for label, vals in scores.items():
                v = np.array(vals)
                res = dict(
                    set=set_name,
                    variant=variant,
                    method=label,
                    sad_mean=float(v[:, 0].mean()),
                    sad_std=float(v[:, 0].std()),
                    nmse_mean=float(v[:, 1].mean()),
                    nmse_std=float(v[:, 1].std()),
                    time=float(v[:, 2].mean()),
                    sad_at_median_shift=float(np.nanmean(v[:, 3])),
                    shift_rms_ev=float(np.nanmean(v[:, 4])),
                )
                payload["results"].append(res)
                print(set_name, _row(res), flush=True)
    order = {v: i for i, v in enumerate(VARIANTS)}
    payload["results"].sort(key=lambda r: (r["set"] != "ml", order[r["variant"]]))
    sections = []
    for set_name in ("ml", "k"):
        rows = [
            _row(r)
            for variant in VARIANTS
            for r in payload["results"]
            if r["set"] == set_name and r["variant"] == variant
        ]
        title = (
            "3 components x 200 channels (M/L edges)"
            if set_name == "ml"
            else "4 components x 903 channels (K edges)"
        )
        sections += [
            f"## {title}",
            "",
            "| variant | method | SAD (deg) mean +- std | NMSE mean +- std "
            "| time (s) | SAD at the median shift (deg) | shift map RMS (eV) |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    md = [
        "# Unmixing when the linear model breaks",
        "",
        doc_body(__doc__),
        "",
        "Timings were taken with nothing else running on the machine.",
        "",
        *payload["notes"],
        "",
        *sections,
        *machine_section(info),
    ]
    print(write_results("unmixing_variants", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
