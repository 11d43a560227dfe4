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
    "check_writable",
    "completed_inputs",
    "remove_partial_outputs",
    "result_signals",
    "write_figure",
]

#: Columns of ``summary.csv`` (one row per input file).
SUMMARY_FIELDS = ("file", "status", "pixels", "seconds", "outputs", "message")

#: Prefix of the temporary folders of :func:`atomic_outputs`.
PARTIAL_PREFIX = ".eels_ae-partial-"


@contextmanager
def atomic_outputs(destination: Path):
    """A temporary folder whose files are moved to ``destination`` on
    success, and deleted (with everything in it) on failure."""
    destination.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=destination))
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
        out = {f"{stem}_abundances": maps, f"{stem}_endmembers": factors}
        shift = getattr(signal.learning_results, "energy_shift", None)
        if shift is not None:  # a drift-aware model measured this scan's drift
            shift.metadata.General.title = f"{stem}: {shift.metadata.General.title}"
            out[f"{stem}_energy_shift"] = shift
        return out
    if kind == "denoising":
        return {f"{stem}_denoised": result}
    if kind == "representation":
        return {f"{stem}_latent": result.latent}
    if kind == "classifier":
        return {f"{stem}_classes": result}
    raise ValueError(f"no command-line output for models of kind {kind!r}.")


def write_figure(path: Path, kind, signal, result):
    """A PNG of the result (:mod:`eels_ae.hyperspy_glue.result_figures`)."""
    from ..hyperspy_glue.result_figures import result_figure_png

    path.write_bytes(result_figure_png(kind, signal, result))


def append_summary(path: Path, row: dict):
    """Add one row to ``summary.csv`` (header written with the first row).

    The row is the last thing written for an input (its outputs are in
    place before it), in one write, flushed to disk: a session killed at any
    moment leaves at most a torn last line, which :func:`completed_inputs`
    skips and the next row starts after.
    """
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS)
    torn = False
    if not path.exists() or path.stat().st_size == 0:
        writer.writeheader()
    else:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b"\n"
    writer.writerow({k: row.get(k, "") for k in SUMMARY_FIELDS})
    with open(path, "a", newline="") as f:
        f.write(("\r\n" if torn else "") + buffer.getvalue())
        f.flush()
        os.fsync(f.fileno())


def completed_inputs(out_dir: Path):
    """The input files an earlier session finished in ``out_dir``: a row
    "ok" in its ``summary.csv`` and every output that row lists in place.
    A restarted session skips them (each good file done once)."""
    summary = out_dir / "summary.csv"
    if not summary.exists():
        return set()
    done = set()
    with open(summary, newline="") as f:
        for row in csv.DictReader(f):
            outputs = (row.get("outputs") or "").split()
            if (
                row.get("status") == "ok"
                and outputs
                and all((out_dir / name).is_file() for name in outputs)
            ):
                done.add(str(Path(row["file"]).resolve()))
    return done


def remove_partial_outputs(out_dir: Path):
    """Delete the temporary folders a killed session left in ``out_dir``
    (their input is done again, so nothing partial stays)."""
    if out_dir.is_dir():
        for tmp in out_dir.glob(PARTIAL_PREFIX + "*"):
            shutil.rmtree(tmp, ignore_errors=True)


def check_writable(out_dir: Path):
    """Raise ``OSError`` with a clear message when ``out_dir`` cannot be
    created or written to (before any input is read)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise OSError(
            f"cannot write results to {out_dir}: {err.strerror or err}"
        ) from None


def json_default(value):
    """JSON for numpy scalars and arrays in summaries."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return str(value)


def write_json(path: Path, payload: dict):
    """Write ``payload`` as JSON under a temporary name, then rename."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=2, default=json_default) + "\n")
    os.replace(tmp, path)
