"""What the command line writes: result signals, PNG figures and summaries.

Everything for one input is written into a temporary folder beside the
destination and renamed into place only when all of it is written, so a file
that fails leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = [
    "SUMMARY_FIELDS",
    "append_summary",
    "atomic_outputs",
    "result_signals",
    "write_figure",
]

#: Columns of ``summary.csv`` (one row per input file).
SUMMARY_FIELDS = ("file", "status", "pixels", "seconds", "outputs", "message")


@contextmanager
def atomic_outputs(destination: Path):
    """A temporary folder whose files are moved to ``destination`` on
    success, and deleted (with everything in it) on failure."""
    destination.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".eels_ae-partial-", dir=destination))
    try:
        yield tmp
        for path in sorted(tmp.iterdir()):
            os.replace(path, destination / path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def result_signals(kind, signal, result, stem):
    """``{file name: signal}`` of what applying a model gave, by registry kind.

    Parameters
    ----------
    kind : str
        The model's registry kind.
    signal : hyperspy signal
        The input (for unmixing its ``learning_results`` hold the result).
    result : object
        What :func:`eels_ae.apply_model` returned.
    stem : str
        The input file's name without its extension.
    """
    if kind == "unmixing":
        maps = signal.get_decomposition_loadings()
        maps.metadata.General.title = f"{stem}: abundances"
        factors = signal.get_decomposition_factors()
        factors.metadata.General.title = f"{stem}: endmembers"
        return {f"{stem}_abundances": maps, f"{stem}_endmembers": factors}
    if kind == "denoising":
        return {f"{stem}_denoised": result}
    if kind == "representation":
        return {f"{stem}_latent": result.latent}
    if kind == "classifier":
        return {f"{stem}_classes": result}
    raise ValueError(f"no command-line output for models of kind {kind!r}.")


def _image_grid(fig, stack, title, first_row=0, limits=(None, None)):
    """One panel per image of a (n, rows, columns) stack, with colour bars,
    below ``first_row`` rows of other panels."""
    n = stack.shape[0]
    cols = min(n, 4)
    rows = int(np.ceil(n / cols)) + first_row
    for i in range(n):
        ax = fig.add_subplot(rows, cols, first_row * cols + i + 1)
        image = ax.imshow(
            stack[i],
            aspect="auto",
            interpolation="nearest",
            vmin=limits[0],
            vmax=limits[1],
        )
        ax.set_title(f"{title} {i}")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046)


def write_figure(path: Path, kind, signal, result):
    """A PNG of the result: abundance maps and endmembers (unmixing), mean
    spectrum before and after (denoising), latent maps (representation),
    class map (classifier)."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 8))
    try:
        if kind == "unmixing":
            maps = np.asarray(signal.get_decomposition_loadings().data)
            maps = maps.reshape(maps.shape[0], -1, maps.shape[-1])
            axis = signal.axes_manager.signal_axes[0]
            map_rows = int(np.ceil(maps.shape[0] / min(maps.shape[0], 4)))
            ax = fig.add_subplot(map_rows + 1, 1, 1)
            for i, f in enumerate(np.asarray(signal.learning_results.factors).T):
                ax.plot(axis.axis, f, label=f"endmember {i}")  # NaN: not modelled
            ax.set_xlabel(f"{axis.name} ({axis.units})")
            ax.set_ylabel("intensity (counts per channel)")
            ax.legend(fontsize=8)
            _image_grid(fig, maps, "abundance", first_row=1, limits=(0, 1))
            fig.suptitle("endmembers, and abundances (fraction; sums to 1 per pixel)")
        elif kind == "denoising":
            ax = fig.add_subplot(111)
            axis = signal.axes_manager.signal_axes[0]
            for s, label in ((signal, "input"), (result, "denoised")):
                mean = s.mean(axis=s.axes_manager.navigation_axes).data
                ax.plot(axis.axis, np.asarray(mean), label=label)
            ax.set_xlabel(f"{axis.name} ({axis.units})")
            ax.set_ylabel("mean intensity (counts per channel)")
            ax.legend()
        elif kind == "representation":
            latent = np.asarray(result.latent.data)
            latent = latent.reshape(latent.shape[0], -1, latent.shape[-1])
            _image_grid(fig, latent, "latent")
        else:
            ax = fig.add_subplot(111)
            image = ax.imshow(np.asarray(result.data), interpolation="nearest")
            fig.colorbar(image, ax=ax)
            ax.set_title("class map")
        fig.tight_layout()
        fig.savefig(path, dpi=80)
    finally:
        plt.close(fig)


def append_summary(path: Path, row: dict):
    """Add one row to ``summary.csv`` (header written with the first row)."""
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in SUMMARY_FIELDS})


def json_default(value):
    """JSON for numpy scalars and tuples in summaries."""
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_json(path: Path, payload: dict):
    """Write ``payload`` as JSON under a temporary name, then rename."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=2, default=json_default) + "\n")
    os.replace(tmp, path)
