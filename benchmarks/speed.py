"""How long each unmixing name takes beside HyperSpy's NMF, on the same data.

Three 64 x 64 core-loss images of 334-400 channels (the size of the speed
issue): TiMnFe oxide layers at 1000 counts (3 phases, 340 channels), CrCoNi
oxide grains at 1000 counts (3 phases, 334 channels) and V/Cr/Fe/Cu oxide
grains at 1500 counts (4 phases, 400 channels). Every name runs through
``s.decomposition`` with its defaults (seed 0), as HyperSpy's NMF does; the
time is the wall time of the call (best of ``--repeat``), the quality the
mean spectral angle (SAD) to the true endmembers after matching. Ratios are
to NMF's time on the same image in the same run.

Run: ``python benchmarks/speed.py [--label before|after] [--names a,b]``
(nothing else running; ``--markdown`` rebuilds the table). Results:
``benchmarks/results/speed_<label>.json``; with both labels present,
``benchmarks/results/speed.md`` gives the table before/after.
"""

from __future__ import annotations

import argparse
import json
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
    metal_oxides,
    warm_up,
    write_results,
)

warnings.filterwarnings("ignore")
RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("nfindr", "vca", "daeu", "udas", "mtaeu", "cnnaeu", "vaeu", "drift_aware")


def images():
    from eels_ae.data import scenes

    return {
        "TiMnFe layers": lambda: scenes.oxide_scene(
            maps="layers", shape=(64, 64), dose=1000, drift=0.0, random_state=3
        ),
        "CrCoNi grains": lambda: scenes.oxide_scene(
            edges="CrCoNi",
            maps="grains",
            shape=(64, 64),
            dose=1000,
            drift=0.0,
            random_state=3,
        ),
        "V/Cr/Fe/Cu grains": lambda: metal_oxides(
            ("V", "Cr", "Fe", "Cu"), (64, 64), 1500.0, "grains", 3
        ),
    }


def sad(truth, components):
    from eels_ae.metrics import match_components, sad_matrix

    order = match_components(truth, components)
    return float(np.degrees(np.diag(sad_matrix(truth, components[order]))).mean())


def timed(syn, name, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        s = syn.signal.deepcopy()
        t = time.perf_counter()
        s.decomposition(
            algorithm=name,
            output_dimension=syn.endmember_array.shape[0],
            print_info=False,
            **({} if name == "NMF" else {"random_state": 0, "show_progressbar": False}),
        )
        best = min(best, time.perf_counter() - t)
        out = np.asarray(s.learning_results.factors).T
    return best, sad(syn.endmember_array, out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--label", default="after")
    p.add_argument("--names", default=",".join(NAMES))
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    import eels_ae  # noqa: F401  (registers the names)

    warm_up()
    info = machine_info()
    import subprocess

    info["commit"] = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        cwd=RESULTS.parent,
    ).stdout.strip()
    names = [n for n in args.names.split(",") if n]
    rows = []
    for label, make in images().items():
        syn = make()
        nmf_t, nmf_sad = timed(syn, "NMF", args.repeat)
        row = {"image": label, "nmf": {"seconds": nmf_t, "sad": nmf_sad}}
        print(f"{label:20s} NMF {nmf_t:6.2f} s SAD {nmf_sad:5.2f}", flush=True)
        for name in names:
            t, a = timed(syn, name, args.repeat)
            row[name] = {"seconds": t, "sad": a, "ratio": t / nmf_t}
            print(
                f"{'':20s} {name:11s} {t:6.2f} s ({t / nmf_t:5.1f}x NMF) SAD {a:5.2f}",
                flush=True,
            )
        rows.append(row)
    out = RESULTS / f"speed_{args.label}.json"
    out.write_text(json.dumps({"rows": rows, "machine": info}, indent=1))
    print(out)
    markdown()


#: Before / after of the issue's other targets, each measured by its own
#: script in one run (so only its ratios compare; this machine's run-to-run
#: spread is about 15 %).
OTHERS = """\
| what (target) | before | after | measured by |
|---|---|---|---|
| `s.denoise_ae()` defaults on 64 x 64 x 240 (<= 20 s, MSE <= 0.3x PCA) \
| 58-65 s, MSE 0.26-0.34x (dropout 0.2) | 42-44 s, MSE 0.24-0.25x \
(no dropout) | `denoise_speed.py` (same day, seeds 0-2) |
| its `denoise` pass on that image | 1.05-1.35 s (9 encodings per pixel) \
| 0.36-0.51 s (1 per pixel) | one A/B session |
| README main job (<= 60 s) | 89-102 s | 83-92 s | `python -m eels_ae.demo` |
| test suite on 2 cores (<= 8 min) | 10:17 (one process) | 6:06-6:12 \
(two workers) | fresh-clone `.ci/run` |

`s.rvae()` on a 196 x 196 map with window 10: 18 s fit + 0.3 s encode
(measured once, not changed since)."""


def markdown():
    runs = {
        lab: json.loads((RESULTS / f"speed_{lab}.json").read_text())
        for lab in ("before", "after")
        if (RESULTS / f"speed_{lab}.json").exists()
    }
    md = [
        "# Speed: every unmixing name beside HyperSpy's NMF",
        "",
        doc_body(__doc__),
        "",
    ]
    for lab, run in runs.items():
        md += [f"## {lab} ({run['machine'].get('commit', '')})", ""]
        heads = [r["image"] for r in run["rows"]]
        md += [
            "| name | "
            + " | ".join(f"{h}: s = x NMF (SAD)" for h in heads)
            + " | median x NMF |"
        ]
        md += ["|---" * (len(heads) + 2) + "|"]
        md.append(
            "| NMF | "
            + " | ".join(
                f"{r['nmf']['seconds']:.2f} s ({r['nmf']['sad']:.2f})"
                for r in run["rows"]
            )
            + " | 1 |"
        )
        for name in NAMES:
            if name not in run["rows"][0]:
                continue
            cells = [
                f"{r[name]['seconds']:.2f} s = {r[name]['ratio']:.1f}x "
                f"({r[name]['sad']:.2f})"
                for r in run["rows"]
            ]
            med = np.median([r[name]["ratio"] for r in run["rows"]])
            md.append(f"| {name} | " + " | ".join(cells) + f" | {med:.1f} |")
        md += [""] + machine_section(run["machine"]) + [""]
    md += ["## The other defaults the speed issue times", "", OTHERS, ""]
    print(write_results("speed", {"runs": runs}, "\n".join(md)))


if __name__ == "__main__":
    if "--markdown" in sys.argv:
        markdown()
    else:
        main()
