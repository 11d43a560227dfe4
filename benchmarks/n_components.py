"""The number of endmembers: eels_ae.estimate_n_components against HyperSpy.

On the synthetic chequerboard sets (3 x 200 M/L edges, 4 x 903 K edges;
known number of components) at three doses, two image sizes and five seeds,
it compares

- ``eels_ae.estimate_n_components`` (spatial coherence of the loading maps),
- the noise test alone (singular values above the Marchenko-Pastur edge, the
  ``n_above_edge`` of the same call),
- HyperSpy's ``estimate_elbow_position`` after
  ``decomposition(normalize_poissonian_noise=True)``,

and reports how often each is right and its mean absolute error, with the
time of each. It also gives the three on the bundled real STO / LSMO image
(no ground truth). Results: ``benchmarks/results/n_components.{md,json}``.

Run: ``python benchmarks/n_components.py`` (about a minute, no torch).
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

SETS = {"ml": 3, "k": 4}
DOSES = (1e4, 2e3, 5e2)
SHAPES = (((64, 64), 8), ((48, 48), 6))
SEEDS = range(5)


def estimates(s):
    import eels_ae

    t0 = time.perf_counter()
    ev = eels_ae.estimate_n_components(s)
    t_ours = time.perf_counter() - t0
    work = s.deepcopy()
    work.change_dtype("float64")
    t0 = time.perf_counter()
    work.decomposition(normalize_poissonian_noise=True, print_info=False)
    elbow = int(work.estimate_elbow_position())
    t_hs = time.perf_counter() - t0
    return (
        ev,
        {
            "ours": ev.n_components,
            "noise edge": ev.n_above_edge,
            "HyperSpy elbow": elbow,
        },
        t_ours,
        t_hs,
    )


def main():
    import eels_ae
    from eels_ae.data.examples import load_example

    info = machine_info()
    methods = ("ours", "noise edge", "HyperSpy elbow")
    rows, payload = [], {"machine": info, "runs": []}
    times = {"ours": [], "HyperSpy elbow": []}
    for name, R in SETS.items():
        for dose in DOSES:
            for shape, block in SHAPES:
                found = {m: [] for m in methods}
                for seed in SEEDS:
                    syn = eels_ae.data.chequerboard_spectrum_image(
                        name, shape=shape, block=block, dose=dose, random_state=seed
                    )
                    _, est, t_ours, t_hs = estimates(syn.signal)
                    times["ours"].append(t_ours)
                    times["HyperSpy elbow"].append(t_hs)
                    for m in methods:
                        found[m].append(est[m])
                    payload["runs"].append(
                        dict(
                            set=name, truth=R, dose=dose, shape=shape, seed=seed, **est
                        )
                    )
                cells = []
                for m in methods:
                    f = np.array(found[m])
                    cells.append(
                        f"{int((f == R).sum())}/{len(f)} ({np.abs(f - R).mean():.1f}; "
                        f"{','.join(map(str, f))})"
                    )
                row = (
                    f"| {name} ({R}) | {dose:g} | {shape[0]} x {shape[1]} | "
                    + " | ".join(cells)
                    + " |"
                )
                rows.append(row)
                print(row, flush=True)
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    ev, real, _, _ = estimates(s)
    payload["real"] = real
    total = {m: sum(r[m] == r["truth"] for r in payload["runs"]) for m in methods}
    n = len(payload["runs"])
    md = [
        "# Number of endmembers: eels_ae.estimate_n_components and HyperSpy",
        "",
        doc_body(__doc__),
        "",
        "Each cell: runs right / runs (mean absolute error; the estimates).",
        "",
        "| set (true R) | dose | image | eels_ae.estimate_n_components | "
        "noise edge only | HyperSpy estimate_elbow_position |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Right overall: eels_ae {total['ours']}/{n}, noise edge "
        f"{total['noise edge']}/{n}, HyperSpy elbow {total['HyperSpy elbow']}/{n}. "
        f"Median time per image: eels_ae {np.median(times['ours']):.2f} s, "
        f"HyperSpy (decomposition + elbow) {np.median(times['HyperSpy elbow']):.2f} s.",
        "",
        f"Real STO / LSMO image (49 x 6 pixels, 1024 channels, no ground truth): "
        f"eels_ae {real['ours']} (spatial autocorrelations "
        f"{', '.join(f'{v:.2f}' for v in ev.spatial_correlation[:6])}; threshold "
        f"{ev.threshold:.2f}), noise edge {real['noise edge']} (the detector's "
        f"noise is correlated between channels), HyperSpy elbow "
        f"{real['HyperSpy elbow']}.",
        "",
        *machine_section(info, other="process"),
    ]
    print(write_results("n_components", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
