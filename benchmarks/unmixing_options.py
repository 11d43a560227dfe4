"""EELS-aware options of ``s.decomposition`` for every unmixing algorithm.

Each eels_ae algorithm (and HyperSpy's NMF as the linear reference) runs
through ``s.decomposition`` four ways:

- ``all channels``: the spectra as they are;
- ``energy range``: ``signal_mask`` leaves out the pre-edge window and the
  channels below it (HyperSpy's convention), so only the edge region is
  unmixed;
- ``background removed``: ``background_range=window`` subtracts the power-law
  background fitted in each pixel (HyperSpy's ``remove_background``, fast)
  and unmixes the same channels as ``energy range``;
- ``Poisson-scaled``: ``normalize_poissonian_noise=True`` (HyperSpy's
  scaling; eager spectra algorithms only, the abundances are the loadings
  divided by their sum).

Synthetic data: the chequerboard protocol of ``benchmarks/unmixing.py`` (64 x
64 pixels, dose 1e4, 3 seeds) on both endmember sets, each endmember with its
own power-law background. Scores: abundance NMSE against the true maps (the
comparable figure across options) and the SAD of the endmembers on the
channels unmixed, against the true endmembers there (for ``background
removed``: the true endmembers less their own power law fitted in the same
window, the nearest thing to a background-free truth).

Real data: the bundled STO / LSMO spectrum image (2 components), with two
windows: 370-450 eV (before the Ti L edge: everything above is unmixed) and
780-825 eV (just before La M: only the La M edge is unmixed). Scores: the
share of the La M endmember in the LSMO layer and its contrast to the STO on
both sides (the physics check of the tests), and the mean of the
background-free data over the window relative to their mean above it (a
pedestal check of the removal).

Run: ``python benchmarks/unmixing_options.py`` (about 20 minutes on 2 cores,
nothing else running). Results: ``benchmarks/results/unmixing_options.{md,json}``.
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
    write_results,
)

warnings.filterwarnings("ignore")

SEEDS = range(3)
WINDOWS = {
    "ml": (200.0, 266.0),
    "k": (250.0, 280.0),
    "real, before Ti L": (370.0, 450.0),
    "real, before La M": (780.0, 825.0),
}
OPTIONS = ("all channels", "energy range", "background removed", "Poisson-scaled")
#: (algorithm, option) pairs to run (all by default; see ``--only``).
SELECTED: list = []

ALGORITHMS = (
    "NMF",
    "vca",
    "nfindr",
    "daeu",
    "udas",
    "mtaeu",
    "cnnaeu",
    "vaeu",
    "drift_aware",
)


def _kwargs(algorithm, option, signal, window, seed):
    """``decomposition`` keywords for one algorithm and option, or None where
    the combination is not offered."""
    import eels_ae

    kw = {}
    if algorithm != "NMF":
        kw["random_state"] = seed
        if (
            "show_progressbar"
            in eels_ae.registry.get(algorithm).estimator._get_param_names()
        ):
            kw["show_progressbar"] = False
    energy = signal.axes_manager.signal_axes[0].axis
    if option == "energy range":
        kw["signal_mask"] = energy <= window[1]
    elif option == "background removed":
        if algorithm == "NMF":
            return None  # HyperSpy's own algorithms do not take it
        kw["background_range"] = window
    elif option == "Poisson-scaled":
        kw["normalize_poissonian_noise"] = True
    return kw


def _run(signal, algorithm, R, kw):
    s = signal.deepcopy()
    t0 = time.perf_counter()
    s.decomposition(algorithm=algorithm, output_dimension=R, print_info=False, **kw)
    dt = time.perf_counter() - t0
    lr = s.learning_results
    F = np.asarray(lr.factors[:, :R]).T
    A = np.asarray(lr.loadings[:, :R])
    if kw.get("normalize_poissonian_noise"):
        A = A / np.maximum(A.sum(axis=1, keepdims=True), 1e-12)
    keep = np.isfinite(F).all(axis=0)
    return F[:, keep], A, keep, dt


def synthetic(set_name, seed, rows):
    import eels_ae
    from eels_ae.metrics import power_law_background, unmixing_scores

    syn = eels_ae.data.chequerboard_spectrum_image(
        set_name, dose=1e4, random_state=seed
    )
    s = syn.signal
    s.change_dtype("float32")
    R = len(syn.names)
    window = WINDOWS[set_name]
    energy = s.axes_manager.signal_axes[0].axis
    truth = syn.endmember_array
    free = truth - power_law_background(truth, energy, window)
    for algorithm, option in SELECTED:
        kw = _kwargs(algorithm, option, s, window, seed)
        if kw is None:
            continue
        F, A, keep, dt = _run(s, algorithm, R, kw)
        ref = (free if option == "background removed" else truth)[:, keep]
        sc = unmixing_scores(ref, syn.abundance_array, F, A.T)
        rows.append(
            dict(
                set=set_name,
                seed=seed,
                algorithm=algorithm,
                option=option,
                sad=float(sc.mean_sad_deg),
                nmse=float(sc.mean_nmse),
                time=dt,
            )
        )
        print(
            set_name,
            seed,
            algorithm,
            option,
            f"{sc.mean_sad_deg:.2f}",
            f"{sc.mean_nmse:.3f}",
            f"{dt:.1f}s",
            flush=True,
        )


def real(rows, name):
    from eels_ae.data.examples import load_example

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    s.change_dtype("float32")
    energy = s.axes_manager.signal_axes[0].axis
    window = WINDOWS[name]
    n_rows = s.data.shape[0]
    # Pedestal check of the removal itself (the call decomposition makes):
    # the background-free data averaged over the window should be ~0.
    free = s.remove_background(
        signal_range=window,
        background_type="Power law",
        fast=True,
        show_progressbar=False,
        display=False,
    ).data.reshape(-1, energy.size)
    inside = (energy >= window[0]) & (energy <= window[1])
    above = free[:, energy > window[1]].mean()
    pedestal = float(abs(free[:, inside].mean()) / above)
    for algorithm, option in SELECTED:
        kw = _kwargs(algorithm, option, s, window, 0)
        if kw is None:
            continue
        F, A, keep, dt = _run(s, algorithm, 2, kw)
        e = energy[keep]
        post_la = (e > 830) & (e < 840)
        pre_la = (energy > 815) & (energy < 825)
        # The pre-edge of La M may be left out: take it from the factors
        # HyperSpy keeps (NaN there) via the raw mean instead.
        jumps = [
            f[post_la].mean() / max(abs(f[pre_la[keep]].mean()), 1e-12)
            if pre_la[keep].any()
            else f[post_la].mean() / max(abs(f).mean(), 1e-12)
            for f in F
        ]
        # The La M endmember: the largest edge step for its own level. Not
        # the largest ratio: a background-free endmember without La M has a
        # pre-edge near zero, so any noise above it is a huge "jump".
        steps = [
            (f[post_la].mean() - (f[pre_la[keep]].mean() if pre_la[keep].any() else 0))
            / max(abs(f).mean(), 1e-12)
            for f in F
        ]
        k = int(np.argmax(steps))
        share = A[:, k].reshape(n_rows, -1).mean(axis=1)
        layer = float(share[20:28].mean())
        contrast = float(min(layer - share[:12].mean(), layer - share[38:].mean()))
        rows.append(
            dict(
                set=name,
                algorithm=algorithm,
                option=option,
                la_jump=float(jumps[k]),
                layer_share=layer,
                contrast=contrast,
                time=dt,
            )
        )
        print(
            name,
            algorithm,
            option,
            f"{jumps[k]:.2f}",
            f"{layer:.2f}",
            f"{contrast:.2f}",
            flush=True,
        )
    return pedestal


def _table(rows, set_name):
    out = [
        "| algorithm | " + " | ".join(OPTIONS) + " |",
        "|---|" + "---|" * len(OPTIONS),
    ]
    for algorithm in ALGORITHMS:
        cells = []
        for option in OPTIONS:
            sel = [
                r
                for r in rows
                if r["set"] == set_name
                and r["algorithm"] == algorithm
                and r["option"] == option
            ]
            if not sel:
                cells.append("n/a")
                continue
            if set_name.startswith("real"):
                r = sel[0]
                cells.append(
                    f"{r['layer_share']:.2f} / {r['contrast']:.2f} / {r['la_jump']:.2f}"
                )
            else:
                sad = np.mean([r["sad"] for r in sel])
                nmse = np.mean([r["nmse"] for r in sel])
                dt = np.mean([r["time"] for r in sel])
                cells.append(f"{sad:.2f} / {nmse:.3f} / {dt:.1f} s")
        out.append(f"| {algorithm} | " + " | ".join(cells) + " |")
    return out


def main(argv=None):
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algorithms", nargs="*", default=list(ALGORITHMS))
    p.add_argument("--options", nargs="*", default=list(OPTIONS))
    p.add_argument(
        "--merge",
        action="store_true",
        help="replace only these (algorithm, option) rows in the stored results",
    )
    args = p.parse_args(argv)
    SELECTED[:] = [(a, o) for a in args.algorithms for o in args.options]
    info = machine_info()
    rows, pedestal, notes = [], {}, []
    stored = Path(__file__).resolve().parent / "results" / "unmixing_options.json"
    if args.merge:
        old = json.loads(stored.read_text())
        rows = [
            r for r in old["results"] if (r["algorithm"], r["option"]) not in SELECTED
        ]
        pedestal = old["pedestal"]
        notes = old.get("notes", [])
        notes.append(
            f"Rows {SELECTED} re-run on {info['date'][:10]} with the defaults of "
            "that day (the option new for them, or its default changed), the "
            "machine otherwise idle."
        )
    pedestal.update(
        {name: real(rows, name) for name in WINDOWS if name.startswith("real")}
    )
    for set_name in ("ml", "k"):
        for seed in SEEDS:
            synthetic(set_name, seed, rows)
    real_tables = []
    for name in pedestal:
        real_tables += [
            f"## Real STO / LSMO, window {WINDOWS[name]} eV ({name}), 2 "
            "components: La M endmember share in the LSMO layer / its contrast "
            "to the STO (lower of the two sides) / La M edge jump of that "
            "endmember",
            "",
            *_table(rows, name),
            "",
            f"Pedestal of the background removal: |mean of the background-free "
            f"data over the window| = {pedestal[name]:.4f} of their mean above it.",
            "",
        ]
    md = [
        "# EELS-aware options of decomposition, every algorithm",
        "",
        doc_body(__doc__),
        "",
        "Timings were taken with no other torch process running. Three short "
        "command-line runs and a package install (under a minute in all) "
        "overlapped the K-set runs of seed 1 in the first run: those times "
        "are a little high; the quality figures do not depend on it.",
        "",
        *notes,
        "",
        f"Windows (eV): {WINDOWS}.",
        "",
        "## 3 components x 200 channels (M/L edges): SAD (deg) / NMSE / time, "
        "mean of 3 seeds",
        "",
        *_table(rows, "ml"),
        "",
        "## 4 components x 903 channels (K edges): SAD (deg) / NMSE / time, "
        "mean of 3 seeds",
        "",
        *_table(rows, "k"),
        "",
        *real_tables,
        *machine_section(info),
    ]
    payload = {"machine": info, "results": rows, "pedestal": pedestal, "notes": notes}
    print(write_results("unmixing_options", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
