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


def rebuild_markdown(name, render):
    """Rewrite ``results/<name>.md`` from ``results/<name>.json`` with
    ``render(rows, machine)`` (a page's text changed, the figures did not)."""
    payload = json.loads((RESULTS / f"{name}.json").read_text())
    path = RESULTS / f"{name}.md"
    path.write_text(render(payload["rows"], payload["machine"]))
    return path


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


def warm_up():
    """One small training first: torch's first call is slow, which would
    make the first timed fit of a benchmark slower than the rest."""
    import numpy as np

    import eels_ae

    rng = np.random.default_rng(0)
    eels_ae.DAEU(2, max_epochs=2, show_progressbar=False).fit(
        rng.poisson(50, (64, 20)).astype(float)
    )


def mixtures(seed=7):
    """Three peaks, Dirichlet(0.3) abundances (many nearly pure pixels), 2-40
    counts per channel down a 40 x 40 image; with its truth, shaped as the
    synthetic images of :mod:`eels_ae.data` are."""
    from types import SimpleNamespace

    import hyperspy.api as hs
    import numpy as np

    rng = np.random.default_rng(seed)
    E = np.linspace(0, 1, 100)
    M = np.stack([np.exp(-(((E - c) / 0.1) ** 2)) + 0.05 for c in (0.25, 0.5, 0.75)])
    A = rng.dirichlet(np.full(3, 0.3), size=(40, 40))
    counts = np.geomspace(2, 40, 40)[:, None, None]
    s = hs.signals.Signal1D(rng.poisson(counts * (A @ M)).astype(np.float32))
    return SimpleNamespace(
        signal=s,
        endmembers=SimpleNamespace(data=M),
        abundances=SimpleNamespace(data=np.moveaxis(A, -1, 0)),
    )


#: L3, L2 onsets (eV) of the transition metals the many-phase scenes draw from.
_METAL_L23 = {
    "Ti": (456.0, 462.0),
    "V": (513.0, 520.0),
    "Cr": (575.0, 584.0),
    "Mn": (640.0, 651.0),
    "Fe": (708.0, 721.0),
    "Co": (779.0, 794.0),
    "Ni": (855.0, 872.0),
    "Cu": (931.0, 951.0),
}


def metal_oxides(metals, shape, dose, maps, seed):
    """``len(metals)`` oxides (2-8) on one 420-980 eV axis, 1.4 eV per
    channel: each a power law of its own exponent, its metal's L2,3 edge and
    an O K edge of its own strength; mixed by Voronoi grains of every phase
    (``maps="grains"``, pure pixels inside) or by smooth random fields
    (``maps="smooth"``, few pixels above 0.8 of one phase). Built from the
    edge shapes of :mod:`eels_ae.data.synthetic`, in other combinations,
    counts, axes and maps than any test or tuning image."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    from eels_ae.data import synthetic as syn

    rng = np.random.default_rng(seed)
    offset, scale, size = 420.0, 1.4, 400
    R = len(metals)

    def oxide(l3, l2, r, oxygen):
        def model(e):
            return (
                syn._power_law(e, offset, r)
                + 0.4 * syn._power_law(l3, offset, r) * syn._l23_edge(e, l3, l2)
                + oxygen * syn._power_law(532.0, offset, r) * syn._k_edge(e, 532.0)
            )

        return model

    models = [
        oxide(*_METAL_L23[m], rng.uniform(2.7, 3.4), rng.uniform(0.1, 0.35))
        for m in metals
    ]
    es = syn._build_set(models, tuple(metals), offset, scale, size, 1.0)
    h, w = shape
    if maps == "grains":
        centres = rng.uniform([0, 0], [h, w], size=(4 * R, 2))
        labels = np.arange(4 * R) % R
        rng.shuffle(labels)
        yy, xx = np.mgrid[0:h, 0:w]
        d = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
        phase = labels[np.argmin(d, axis=-1)]
        a = (phase[None] == np.arange(R)[:, None, None]).astype(float)
        a = gaussian_filter(a, (0, 1.0, 1.0), mode="nearest")
    else:
        fields = gaussian_filter(rng.standard_normal((R, h, w)), (0, 4.0, 4.0))
        a = np.exp(fields / fields.std() * 1.5)
    a /= a.sum(axis=0, keepdims=True)
    return syn.mixed_spectrum_image(es, a, dose, random_state=rng)


def scene_kinds(shape):
    """Kinds of scene with known truth (endmembers and abundances), each a
    function of its seed: the collection of the ensemble and compare
    benchmarks (other kinds than the tests use)."""
    import eels_ae
    from eels_ae.data import scenes as oxide

    cheq = eels_ae.data.chequerboard_spectrum_image
    return {
        "peaks, pure pixels, 20x count ramp": lambda s: mixtures(seed=s),
        "M/L chequerboard, 2000 counts": lambda s: cheq(
            "ml", shape=shape, dose=2000.0, random_state=s
        ),
        "M/L chequerboard, 500 counts, 4x thickness": lambda s: cheq(
            "ml", shape=shape, dose=500.0, amplitude=4.0, random_state=s
        ),
        "M/L chequerboard, no pure phase": lambda s: cheq(
            "ml", shape=shape, dose=5000.0, no_pure_component=1, random_state=s
        ),
        "K chequerboard, 3000 counts": lambda s: cheq(
            "k", shape=shape, dose=3000.0, random_state=s
        ),
        "TiMnFe layers, 1000 counts": lambda s: oxide.oxide_scene(
            maps="layers", shape=shape, dose=1000, drift=0.0, random_state=s
        ),
        "TiMnFe layers, 200 counts, drift": lambda s: oxide.oxide_scene(
            maps="layers", shape=shape, dose=200, drift=1.5, random_state=s
        ),
        "CrCoNi grains, 1000 counts": lambda s: oxide.oxide_scene(
            edges="CrCoNi",
            maps="grains",
            shape=shape,
            dose=1000,
            drift=0.0,
            random_state=s,
        ),
        "CrCoNi layers, 300 counts": lambda s: oxide.oxide_scene(
            edges="CrCoNi",
            maps="layers",
            shape=shape,
            dose=300,
            drift=0.0,
            random_state=s,
        ),
        "TiMnFe grains, 3000 counts, drift": lambda s: oxide.oxide_scene(
            maps="grains", shape=shape, dose=3000, drift=2.0, random_state=s
        ),
    }


def many_phase_kinds(shape):
    """Scenes of 2, 4, 5 and 6 oxides (:func:`metal_oxides`), each a function
    of its seed: with :func:`scene_kinds`, the compare collection."""
    return {
        "Ti/Ni oxide grains, 600 counts": lambda s: metal_oxides(
            ("Ti", "Ni"), shape, 600.0, "grains", s
        ),
        "V/Cr/Fe/Cu oxide grains, 1500 counts": lambda s: metal_oxides(
            ("V", "Cr", "Fe", "Cu"), shape, 1500.0, "grains", s
        ),
        "five oxides, smooth maps, 2000 counts": lambda s: metal_oxides(
            ("Ti", "Cr", "Mn", "Co", "Cu"), shape, 2000.0, "smooth", s
        ),
        "six oxides, grains, 3000 counts": lambda s: metal_oxides(
            ("Ti", "V", "Mn", "Fe", "Ni", "Cu"), shape, 3000.0, "grains", s
        ),
    }
