"""Helpers shared by the benchmarks: machine facts and result files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info():
    """The machine and package versions, recorded next to every result."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            names = [
                ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    import torch

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }
    for pkg in (
        "eels_ae",
        "hyperspy",
        "exspy",
        "rosettasciio",
        "torch",
        "numpy",
        "scikit-learn",
        "dask",
    ):
        info[pkg] = version(pkg)
    return info


def write_results(name, payload, markdown):
    """Write ``results/<name>.json`` and ``results/<name>.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    return RESULTS / f"{name}.md"


def machine_markdown(info):
    keys = (
        "date",
        "cpu",
        "cpu_count",
        "torch_threads",
        "cuda",
        "platform",
        "python",
        "eels_ae",
        "hyperspy",
        "exspy",
        "rosettasciio",
        "torch",
        "numpy",
        "scikit-learn",
        "dask",
    )
    return "\n".join(f"- {k}: {info[k]}" for k in keys) + "\n"


def doc_body(doc):
    """A benchmark's module docstring without its title line and its
    ``Run:`` paragraph: the description the results file repeats."""
    return doc.split("\n\n", 1)[1].rsplit("\n\nRun:", 1)[0]


def machine_section(info, other="torch process"):
    """The closing lines of a results file: that the machine was otherwise
    idle, and the machine and versions."""
    return [
        f"The machine ran no other {other} during the benchmark.",
        "",
        "## Machine",
        "",
        machine_markdown(info),
    ]


def best_of(fn, repeat):
    """Smallest wall time of ``repeat`` calls (and the last result)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def takes_image(est):
    """Whether ``est`` takes the spectrum image (spatial algorithms, and the
    drift-aware one, whose shift map is smoothed), as ``s.decomposition``
    gives it, rather than flat spectra (also for scikit-learn's own)."""
    import eels_ae

    try:
        return eels_ae.registry.for_estimator(est).input == "image"
    except TypeError:  # not an eels_ae estimator
        return False


def fit_and_score(syn, est, fractions=False):
    """Fit ``est`` to the synthetic image ``syn`` (the image or its spectra,
    see :func:`takes_image`) and score it against the truth: ``(mean SAD in
    degrees, mean abundance NMSE, seconds)``. ``fractions``: the abundances
    divided by their sum at each pixel first (NMF's loadings read as
    fractions)."""
    import time

    import numpy as np

    from eels_ae.metrics import unmixing_scores

    data = syn.signal.data
    t0 = time.perf_counter()
    A = est.fit_transform(
        data if takes_image(est) else data.reshape(-1, data.shape[-1])
    )
    seconds = time.perf_counter() - t0
    if fractions:
        total = A.sum(axis=1, keepdims=True)
        A = A / np.where(total > 0, total, 1.0)
    sc = unmixing_scores(syn.endmember_array, syn.abundance_array, est.components_, A.T)
    return sc.mean_sad_deg, sc.mean_nmse, seconds
