"""Bar plots of the unmixing benchmarks, like Figures 4 and 5 of Brun et al. 2024.

Reads ``results/unmixing.json`` (``benchmarks/unmixing.py``) and
``results/unmixing_variants.json`` (``benchmarks/unmixing_variants.py``) and
draws the mean SAD and abundance NMSE of every method, with the standard
deviation over seeds as error bars, on log scales:

- ``results/unmixing_sad_nmse.png``: both endmember sets, every dose run;
- ``results/unmixing_variants.png``: the 4 x 903 set under each variation.

Copies go to ``docs/user_guide/figures/`` for the documentation.

Run: ``python benchmarks/plot_unmixing.py`` (seconds; no training).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs" / "user_guide" / "figures"
SETS = {"ml": "3 x 200 (M/L edges)", "k": "4 x 903 (K edges)"}


def _colour(i):
    """A distinct colour for each of up to 20 methods (tab10 repeats at 11)."""
    import matplotlib.pyplot as plt

    return plt.get_cmap("tab20")(i % 20)


def _bars(ax, labels, means, stds, title, ylabel):
    x = np.arange(len(labels))
    ax.bar(x, means, yerr=stds, capsize=3, color=[_colour(i) for i in range(len(x))])
    ax.set_yscale("log")
    ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=7)
    ax.set(title=title, ylabel=ylabel)


def plot_protocol():
    import matplotlib.pyplot as plt

    records = json.loads((RESULTS / "unmixing.json").read_text())["records"]
    keys = sorted({(r["set"], r["dose"]) for r in records}, key=lambda k: (k[0], -k[1]))
    fig, axes = plt.subplots(2, len(keys), figsize=(3.6 * len(keys), 7), squeeze=False)
    for j, (name, dose) in enumerate(keys):
        rows = [r for r in records if r["set"] == name and r["dose"] == dose]
        methods = list(dict.fromkeys(r["method"] for r in rows))
        for i, (metric, unit) in enumerate(
            (("sad_deg", "SAD (deg)"), ("nmse", "NMSE"))
        ):
            vals = [[r[metric] for r in rows if r["method"] == m] for m in methods]
            _bars(
                axes[i][j],
                methods,
                [np.mean(v) for v in vals],
                [np.std(v) for v in vals],
                f"{SETS[name]}, dose {dose:g}" if i == 0 else "",
                unit,
            )
    fig.suptitle(
        "Chequerboard protocol (Brun et al. 2024): mean +- std over seeds, log scale"
    )
    fig.tight_layout()
    return _save(fig, "unmixing_sad_nmse.png")


def plot_variants():
    import matplotlib.pyplot as plt

    results = json.loads((RESULTS / "unmixing_variants.json").read_text())["results"]
    rows = [r for r in results if r["set"] == "k"]
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / len(methods)
    x = np.arange(len(variants))
    for k, m in enumerate(methods):
        for ax, key in zip(axes, ("sad", "nmse"), strict=True):
            vals = [
                next(r for r in rows if r["variant"] == v and r["method"] == m)
                for v in variants
            ]
            # The drift-aware unmixing is scored at the median shift (its
            # gauge): the truth moved by it.
            gauge = key == "sad" and "drift-aware" in m
            means = [r["sad_at_median_shift" if gauge else f"{key}_mean"] for r in vals]
            ax.bar(
                x + (k - (len(methods) - 1) / 2) * width,
                means,
                width,
                yerr=[r[f"{key}_std"] for r in vals],
                capsize=2,
                label=m + (" (SAD at the median shift)" if "drift-aware" in m else ""),
                color=_colour(k),
            )
    for ax, label in zip(axes, ("SAD (deg)", "NMSE"), strict=True):
        ax.set_yscale("log")
        ax.set_xticks(x, variants, fontsize=8)
        ax.set(ylabel=label, title=f"{SETS['k']}: {label} under each variation")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, "unmixing_variants.png")


def _save(fig, name):
    import matplotlib.pyplot as plt

    path = RESULTS / name
    fig.savefig(path, dpi=100)
    plt.close(fig)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS / name)
    return path


def main():
    import matplotlib

    matplotlib.use("agg")
    for path in (plot_protocol(), plot_variants()):
        print(f"written {path}")


if __name__ == "__main__":
    main()
