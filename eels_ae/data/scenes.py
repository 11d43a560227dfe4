"""Synthetic oxide scenes for the hard unmixing cases: low dose, smooth
energy drift, thickness.

Three transition-metal oxides that share one O K edge, seen through their
L2,3 edges on power-law backgrounds that dominate the counts, as in real
core-loss images of oxide interfaces. Two edge sets and two kinds of maps,
so that a method tuned on one can be scored on another:

- ``edges="TiMnFe"``: TiO2 (Ti L3 456 eV), MnO (Mn L3 640 eV), Fe2O3 (Fe L3
  708 eV) on 420-760 eV, 1 eV per channel;
- ``edges="CrCoNi"``: Cr2O3 (Cr L3 575 eV), CoO (Co L3 779 eV), NiO (Ni L3
  855 eV) on 500-900 eV, 1.2 eV per channel;
- ``maps="layers"``: three layers across the image with rough, intermixed
  interfaces (pure pixels inside each layer);
- ``maps="grains"``: Voronoi grains of random phase with blurred grain
  boundaries.

The energy drift is a smooth field: a linear ramp along the scan plus a
smooth random part (a Gaussian-filtered white noise), scaled to ``drift``
channels peak to peak and centred on zero median, so that unshifted true
endmembers are the reference for every method.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .synthetic import (
    EndmemberSet,
    _build_set,
    _dose_text,
    _k_edge,
    _l23_edge,
    _power_law,
    _render,
    mixed_spectrum_image,
)

__all__ = [
    "EDGE_SETS",
    "LINE_EDGE_SETS",
    "MAPS",
    "PROFILES",
    "oxide_endmembers",
    "oxide_scene",
    "line_scan_edges",
    "smooth_drift",
    "thickness_line_scan",
]

#: L3, L2 onsets (eV), metal atoms per O atom, background exponent of each
#: oxide, and the axis (offset, scale, size) of each edge set.
EDGE_SETS = {
    "TiMnFe": {
        "phases": {
            "TiO2": ((456.0, 462.0), 0.5, 3.2),
            "MnO": ((640.0, 651.0), 1.0, 3.0),
            "Fe2O3": ((708.0, 721.0), 0.67, 2.8),
        },
        "axis": (420.0, 1.0, 340),
    },
    "CrCoNi": {
        "phases": {
            "Cr2O3": ((575.0, 584.0), 0.67, 3.1),
            "CoO": ((779.0, 794.0), 1.0, 2.9),
            "NiO": ((855.0, 872.0), 1.0, 3.3),
        },
        "axis": (500.0, 1.2, 334),
    },
}
#: The kinds of abundance maps.
MAPS = ("layers", "grains")

_O_K = 532.0


def oxide_endmembers(edges="TiMnFe"):
    """The three oxide endmembers of an edge set (see the module notes).

    Each is a power law plus the metal's L2,3 edge (white lines on a double
    step) plus the O K edge shared by all (same shape, strength by the
    oxide's O content), the edges a fraction of the background at their
    onset as in real spectra.
    """
    if edges not in EDGE_SETS:
        raise ValueError(f"edges must be one of {tuple(EDGE_SETS)}; got {edges!r}.")
    spec = EDGE_SETS[edges]
    offset, scale, size = spec["axis"]
    o_peaks = ((_O_K + 1.5, 0.8, 2.0), (_O_K + 10.0, 0.6, 7.0), (_O_K + 22, 0.3, 12))

    def oxide(l3l2, metal_per_o, r):
        l3, l2 = l3l2

        def model(e):
            bg = _power_law(e, offset, r)
            metal = 0.5 * _power_law(l3, offset, r) * _l23_edge(e, l3, l2)
            oxygen = (0.25 / max(metal_per_o, 0.5)) * _power_law(_O_K, offset, r)
            return bg + metal + oxygen * _k_edge(e, _O_K, decay=2.6, peaks=o_peaks)

        return model

    phases = spec["phases"]
    models = [oxide(*p) for p in phases.values()]
    return _build_set(models, tuple(phases), offset, scale, size, 1.0)


def _layers(shape, rng, width=1.5):
    """Three layers along x with wavy, intermixed interfaces."""
    h, w = shape
    y = np.arange(h)[:, None]
    x = np.arange(w)[None, :]
    s = []
    for centre in (w / 3.0, 2.0 * w / 3.0):
        period = rng.uniform(0.6, 1.2) * h
        pos = centre + 0.06 * w * np.sin(2 * np.pi * y / period + rng.uniform(0, 6.3))
        s.append(1.0 / (1.0 + np.exp(-(x - pos) / width)))
    a = np.stack([1 - s[0], s[0] * (1 - s[1]), s[0] * s[1]])
    return a / a.sum(axis=0, keepdims=True)


def _grains(shape, rng, n_grains=14, blur=1.2):
    """Voronoi grains of random phase (each phase in at least one), blurred."""
    h, w = shape
    centres = rng.uniform([0, 0], [h, w], size=(n_grains, 2))
    labels = np.arange(n_grains) % 3
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:h, 0:w]
    d = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    phase = labels[np.argmin(d, axis=-1)]
    onehot = (phase[None] == np.arange(3)[:, None, None]).astype(float)
    a = gaussian_filter(onehot, (0, blur, blur), mode="nearest")
    return a / a.sum(axis=0, keepdims=True)


def smooth_drift(shape, peak_to_peak, random_state=None, ramp=0.5):
    """A smooth energy-shift field (channels) of ``shape``: a ramp along x
    (``ramp`` of the variance) plus a smooth random part, scaled to
    ``peak_to_peak`` and centred on zero median."""
    rng = np.random.default_rng(random_state)
    h, w = shape
    if peak_to_peak == 0:
        return np.zeros(shape)
    lin = np.broadcast_to(np.linspace(-1, 1, w)[None], shape)
    noise = gaussian_filter(rng.standard_normal(shape), max(h, w) / 6.0, mode="wrap")
    noise /= noise.std() or 1.0
    field = np.sqrt(ramp) * lin / lin.std() + np.sqrt(1 - ramp) * noise
    field = field / np.ptp(field) * float(peak_to_peak)
    return field - np.median(field)


def oxide_scene(
    edges="TiMnFe",
    maps="layers",
    shape=(48, 48),
    dose=200.0,
    drift=1.5,
    thickness=None,
    random_state=None,
):
    """A synthetic oxide spectrum image with its ground truth.

    Parameters
    ----------
    edges : {"TiMnFe", "CrCoNi"}
        The edge set (see the module notes).
    maps : {"layers", "grains"}
        The kind of abundance maps.
    shape : tuple of int
        ``(height, width)``.
    dose : float or None
        Mean total counts of one spectrum (all channels) before Poisson
        noise; ``None``: noise-free.
    drift : float
        Peak-to-peak energy drift in channels (a smooth field, see
        :func:`smooth_drift`); 0 for none.
    thickness : tuple of float, optional
        ``(start, end)`` intensity factors ramped along y (thickness x dose:
        background and edges scale together).
    random_state : None, int or numpy.random.Generator
        Seeds the maps, the drift field and the noise.

    Returns
    -------
    SyntheticSI
        ``shift`` holds the drift field in eV.
    """
    if maps not in MAPS:
        raise ValueError(f"maps must be one of {MAPS}; got {maps!r}.")
    shape = tuple(int(n) for n in shape)
    if len(shape) != 2 or min(shape) < 4:
        raise ValueError(f"shape must be (height, width), each >= 4; got {shape}.")
    rng = np.random.default_rng(random_state)
    es = oxide_endmembers(edges)
    abund = _layers(shape, rng) if maps == "layers" else _grains(shape, rng)
    shift = smooth_drift(shape, drift, rng) * es.scale if drift else None
    amplitude = None
    if thickness is not None:
        start, end = (float(t) for t in thickness)
        amplitude = np.broadcast_to(np.linspace(start, end, shape[0])[:, None], shape)
    return mixed_spectrum_image(
        es,
        abund,
        dose,
        rng,
        shift=shift,
        amplitude=amplitude,
        title=f"Oxide scene ({edges}, {maps}, {_dose_text(dose)}, drift {drift:g} ch)",
        label=edges,
    )


#: Two metals' L2,3 edges (L3, L2 onsets, eV, and edge strength relative to
#: the background at L3), the background exponent and the axis (offset,
#: scale, size) of each line-scan edge pair.
LINE_EDGE_SETS = {
    "MnFe": {
        "metals": {"Mn": ((640.0, 651.0), 0.45), "Fe": ((708.0, 721.0), 0.35)},
        "r": 3.0,
        "axis": (550.0, 0.5, 480),
    },
    "CoNi": {
        "metals": {"Co": ((779.0, 794.0), 0.30), "Ni": ((855.0, 872.0), 0.40)},
        "r": 3.3,
        "axis": (680.0, 0.8, 300),
    },
}
#: The composition profiles of a line scan (first metal's share along it).
PROFILES = ("interface", "band", "random")


def _share_profile(profile, n, rng):
    """The first metal's atomic share along a scan of ``n`` pixels."""
    x = np.linspace(0.0, 1.0, n)
    if profile == "interface":  # metal 1 on the thin side, an intermixed interface
        centre = rng.uniform(0.4, 0.6)
        return 1.0 / (1.0 + np.exp((x - centre) / 0.06))
    if profile == "band":  # a band of metal 2 inside metal 1
        centre, width = rng.uniform(0.35, 0.65), rng.uniform(0.1, 0.18)
        return 1.0 - np.exp(-0.5 * ((x - centre) / width) ** 4)
    # A smooth random walk between the pure metals.
    walk = gaussian_filter(rng.standard_normal(n), n / 12.0, mode="nearest")
    walk = (walk - walk.min()) / max(np.ptp(walk), 1e-12)
    return np.clip(1.25 * walk - 0.125, 0.0, 1.0)


def thickness_line_scan(
    edges="MnFe",
    profile="interface",
    length=64,
    counts=300.0,
    thickness=(0.6, 1.4),
    random_state=None,
):
    """A line scan across two metals' L2,3 edges with the specimen thickening.

    Every spectrum is ``t * (background + s * edge_1 + (1 - s) * edge_2)``:
    one power-law background, the first metal's share ``s`` following
    ``profile``, and the thickness factor ``t`` ramped linearly along the
    scan (background and edges scale together), Poisson noise.

    Parameters
    ----------
    edges : {"MnFe", "CoNi"}
        The edge pair (:data:`LINE_EDGE_SETS`).
    profile : {"interface", "band", "random"}
        The first metal's share along the scan: pure metal 1 on the thin
        side, an interface, pure metal 2 on the thick side; a band of metal
        2 inside metal 1; or a smooth random profile between the two.
    length : int
        Pixels along the scan.
    counts : float or None
        Mean counts per channel of the background at the first edge's onset
        (at the mean thickness) before Poisson noise; ``None``: noise-free.
    thickness : tuple of float
        ``(start, end)`` intensity factors ramped along the scan.
    random_state : None, int or numpy.random.Generator
        Seeds the profile and the noise.

    Returns
    -------
    SyntheticSI
        A line scan (one navigation axis); ``endmembers`` are the two pure
        metals on the common background, ``abundances`` their atomic shares
        and ``amplitude`` the thickness factor of each pixel.
    """
    if edges not in LINE_EDGE_SETS:
        raise ValueError(
            f"edges must be one of {tuple(LINE_EDGE_SETS)}; got {edges!r}."
        )
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}; got {profile!r}.")
    length = int(length)
    if length < 4:
        raise ValueError(f"length must be >= 4 pixels; got {length}.")
    rng = np.random.default_rng(random_state)
    spec = LINE_EDGE_SETS[edges]
    offset, scale, size = spec["axis"]
    r = spec["r"]
    metals = spec["metals"]

    def endmember(l3l2, strength):
        l3, l2 = l3l2
        return lambda e: (
            _power_law(e, offset, r)
            + strength * _power_law(l3, offset, r) * _l23_edge(e, l3, l2)
        )

    models = [endmember(*m) for m in metals.values()]
    spectra = np.stack([_render(m, offset, scale, size, 1.0) for m in models])
    es = EndmemberSet(
        spectra=spectra,
        energy=offset + scale * np.arange(size),
        names=tuple(metals),
        offset=offset,
        scale=scale,
    )
    share = _share_profile(profile, length, rng)
    abund = np.stack([share, 1.0 - share])[:, None, :]  # (2, 1, length)
    t = np.linspace(float(thickness[0]), float(thickness[1]), length)[None, :]
    dose = None
    if counts is not None:
        first_l3 = next(iter(metals.values()))[0][0]
        onset = int(round((first_l3 - offset) / scale))
        mixed = abund[:, 0].T @ spectra
        # mixed_spectrum_image scales the mixture to a mean total of `dose`
        # before the thickness factor (mean 1).
        dose = float(counts) * mixed.sum(1).mean() / mixed[:, onset].mean()
    syn = mixed_spectrum_image(
        es,
        abund,
        dose,
        rng,
        amplitude=t / t.mean(),
        title=(
            f"Thickness line scan ({edges}, {profile}, "
            f"t {thickness[0]:g}-{thickness[1]:g})"
        ),
        label=edges,
    )
    # One navigation axis: a line scan, not a 1-pixel-high image.
    syn.signal = syn.signal.inav[:, 0]
    syn.clean = syn.clean.inav[:, 0]
    return syn


def line_scan_edges(syn, edges):
    """The two metals' edges alone (each endmember less the common power-law
    background), at the scale of ``syn.endmember_array``: the truth for the
    edge counts of a :func:`thickness_line_scan` of edge pair ``edges``.

    Returns
    -------
    ndarray, shape (2, n_channels)
    """
    spec = LINE_EDGE_SETS[edges]
    offset, scale, size = spec["axis"]
    bg = _render(lambda e: _power_law(e, offset, spec["r"]), offset, scale, size, 1.0)
    M = syn.endmember_array
    # The edges are nil at the first channel (40+ eV below the first onset).
    return np.stack([m - m[0] / bg[0] * bg for m in M])
