"""Synthetic chequerboard EELS spectrum images (protocol of Brun et al. 2024).

Brun et al. (2024) benchmarks unmixing methods on spectrum images built with the
linear mixing model from two endmember sets (3 components x 200 channels with
M and L edges; 4 components x 903 channels with K edges) and 64 x 64
"chequerboard" abundance maps: 8 x 8-pixel blocks each assigned at random to
one endmember, then blurred by a 9 x 9 averaging filter so that pixels mix,
followed by Poisson noise.

The paper's spectra are not public, so this module builds physically plausible
replacements: a power-law background ``A E**-r`` for every component plus
core-loss edges at their tabulated onset energies (hydrogenic-like sawtooth K
edges with near-edge peaks, L2,3 edges with white lines, a delayed M4,5 edge),
evaluated on a fine energy grid, broadened by a Gaussian instrument
resolution and integrated over each detector channel.

Conventions
-----------
* Endmember spectra of an :class:`EndmemberSet` are non-negative and
  normalised so that each spectrum's maximum is 1 (for a decaying background
  the first channel); the scale that matters for counts is set later by the
  ``dose``.
* ``dose`` is the mean, over all pixels, of the total number of counts of one
  spectrum (the sum over all its channels) before noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter

from ..energy_shift import shift_spectra

__all__ = [
    "EndmemberSet",
    "SyntheticSI",
    "chequerboard_abundances",
    "chequerboard_spectrum_image",
    "endmembers_k",
    "endmembers_ml",
    "mixed_spectrum_image",
]

# Tabulated onset energies (eV), from the usual EELS edge tables.
ONSETS = {
    "C_K": 284.0,
    "N_K": 401.0,
    "O_K": 532.0,
    "Ru_M5": 279.0,
    "Ru_M4": 284.0,
    "Ru_M3": 461.0,
    "Ru_M2": 483.0,
    "Co_L3": 779.0,
    "Co_L2": 794.0,
}

# Fine-grid step (eV) on which spectra are evaluated before they are broadened
# and integrated over each channel: sharp features (white lines, pi* peaks)
# must be resolved much more finely than the 3.33 eV channels of the ML set.
_FINE_STEP = 0.05


@dataclass(frozen=True, eq=False)
class EndmemberSet:
    """A set of endmember spectra sharing one calibrated energy axis.

    Parameters
    ----------
    spectra : numpy.ndarray
        Array of shape ``(R, B)``: one non-negative spectrum per component.
    energy : numpy.ndarray
        Array of shape ``(B,)``: energy loss (eV) of each channel,
        ``offset + scale * arange(B)``.
    names : tuple of str
        Component names, length ``R``.
    offset : float
        Energy of the first channel (eV).
    scale : float
        Channel width (eV per channel).
    """

    spectra: np.ndarray
    energy: np.ndarray
    names: tuple[str, ...]
    offset: float
    scale: float

    def __post_init__(self):
        spectra = np.asarray(self.spectra, dtype=float)
        energy = np.asarray(self.energy, dtype=float)
        if spectra.ndim != 2:
            raise ValueError(
                f"spectra must be a 2-D array (components, channels); got shape "
                f"{spectra.shape}."
            )
        if energy.shape != (spectra.shape[1],):
            raise ValueError(
                f"energy must have one value per channel ({spectra.shape[1]}); got "
                f"shape {energy.shape}."
            )
        if len(self.names) != spectra.shape[0]:
            raise ValueError(
                f"names has {len(self.names)} entries but spectra has "
                f"{spectra.shape[0]} components: give one name per component."
            )
        if np.any(spectra < 0) or not np.all(np.isfinite(spectra)):
            raise ValueError("spectra must be finite and non-negative.")
        # Frozen dataclass: bypass __setattr__ to store the converted arrays.
        object.__setattr__(self, "spectra", spectra)
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "offset", float(self.offset))
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def n_components(self) -> int:
        """Number of endmembers ``R``."""
        return self.spectra.shape[0]

    @property
    def n_channels(self) -> int:
        """Number of energy channels ``B``."""
        return self.spectra.shape[1]


# --------------------------------------------------------------------------
# Spectral building blocks (all evaluated on an energy array ``e`` in eV)
# --------------------------------------------------------------------------


def _power_law(e, e_ref, r):
    """Background ``(e / e_ref) ** -r`` (equal to 1 at ``e_ref``)."""
    return (e / e_ref) ** (-r)


def _step(e, onset, width):
    """Smooth unit step at ``onset``; arctan gives the core-hole lifetime tail."""
    return 0.5 + np.arctan((e - onset) / width) / np.pi


def _lorentzian(e, centre, fwhm):
    """Lorentzian of unit peak height."""
    hw = 0.5 * fwhm
    return hw**2 / ((e - centre) ** 2 + hw**2)


def _gaussian(e, centre, fwhm):
    """Gaussian of unit peak height."""
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    return np.exp(-0.5 * ((e - centre) / sigma) ** 2)


def _k_edge(e, onset, decay=3.0, width=0.5, peaks=()):
    """Hydrogenic-like K edge: a sawtooth with optional near-edge peaks.

    The continuum jumps to 1 at ``onset`` and then decays as
    ``(e / onset) ** -decay`` (K-shell cross-sections fall off roughly like
    the background). ``peaks`` adds near-edge structure (e.g. pi* and
    sigma* resonances) as Gaussians given by ``(energy, height, fwhm)``,
    heights relative to the edge jump.
    """
    above = np.maximum(e, onset)
    out = _step(e, onset, width) * (above / onset) ** (-decay)
    for centre, height, fwhm in peaks:
        out = out + height * _gaussian(e, centre, fwhm)
    return out


def _l23_edge(
    e, l3, l2, decay=2.5, width=0.6, white_line=3.0, wl_fwhm=3.0, wl_shift=1.5
):
    """L2,3 edge of a transition metal: a double step plus white lines.

    Continuum steps at L3 and L2 with the 2:1 statistical (2j + 1) ratio,
    decaying as ``(e / l3) ** -decay``; Lorentzian white lines (unoccupied 3d
    states) just above each onset with the same 2:1 ratio. ``white_line`` is
    the L3 white-line height relative to the total continuum jump.
    """
    above = np.maximum(e, l3)
    continuum = (2.0 * _step(e, l3, width) + _step(e, l2, width)) / 3.0
    out = continuum * (above / l3) ** (-decay)
    out = out + white_line * (
        _lorentzian(e, l3 + wl_shift, wl_fwhm)
        + 0.5 * _lorentzian(e, l2 + wl_shift, wl_fwhm)
    )
    return out


def _delayed_edge(e, onset, rise=50.0, decay=3.0):
    """Delayed edge (e.g. 4d M4,5): no sharp jump, a slow rise then a decay.

    The centrifugal barrier of final states with high angular momentum delays
    the oscillator strength: ``x**2 / (x**2 + rise**2) * (e / onset)**-decay``
    with ``x = e - onset``, which peaks roughly 60-90 eV above the onset for
    ``rise`` = 40-60 eV.
    """
    x = np.maximum(e - onset, 0.0)
    return x**2 / (x**2 + rise**2) * (np.maximum(e, onset) / onset) ** (-decay)


def _render(model, offset, scale, size, resolution_fwhm):
    """Evaluate ``model(e)`` as a detector would record it.

    The model is sampled on a fine grid, convolved with a Gaussian of
    ``resolution_fwhm`` (eV) and averaged over each channel's width, so that
    narrow features keep their area on coarse (3.33 eV) channels.
    """
    sub = max(1, int(np.ceil(scale / _FINE_STEP)))
    step = scale / sub
    sigma = resolution_fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / step
    # Pad so that the convolution near the ends sees the real model.
    pad = int(np.ceil(5 * sigma)) + 1
    lo = offset - 0.5 * scale  # channel i covers [E_i - scale/2, E_i + scale/2]
    idx = np.arange(-pad, size * sub + pad)
    e_fine = lo + (idx + 0.5) * step
    fine = gaussian_filter1d(model(e_fine), sigma, mode="nearest")
    fine = fine[pad : pad + size * sub]
    return fine.reshape(size, sub).mean(axis=1)


def _build_set(models, names, offset, scale, size, resolution_fwhm):
    energy = offset + scale * np.arange(size)
    spectra = np.stack(
        [_render(m, offset, scale, size, resolution_fwhm) for m in models]
    )
    spectra = np.clip(spectra, 0.0, None)
    spectra /= spectra.max(axis=1, keepdims=True)
    return EndmemberSet(
        spectra=spectra, energy=energy, names=tuple(names), offset=offset, scale=scale
    )


def endmembers_ml(offset=200.0, scale=3.33, size=200, resolution_fwhm=1.5):
    """Three endmembers with M and L edges, modelled on Pt/Co/Ru multilayers.

    Stands in for Brun et al.'s (2024) 3-component, 200-channel set (extracted from a
    Pt/Co/Ru/Pt multilayer recorded at 3.33 eV per channel). The default axis
    covers 200-863 eV.

    * ``"Pt"``: background only (power law ``E**-3.5``); the Pt M edge
      (2122 eV) lies outside the range, as in the paper.
    * ``"Co"``: background ``E**-3.0`` plus the Co L2,3 edge, L3 at 779 eV and
      L2 at 794 eV, with 2:1 white lines on a 2:1 double step.
    * ``"Ru"``: background ``E**-2.7`` plus the delayed Ru M4,5 edge (M5
      279 eV, M4 284 eV, 3:2), maximum about 70 eV above onset, and the
      weaker Ru M3 (461 eV) and M2 (483 eV) steps.

    Edge strengths are given relative to each component's own background at
    the onset, so the backgrounds dominate (as in real data) and the
    components differ by a few degrees of spectral angle.

    Parameters
    ----------
    offset : float
        Energy of the first channel (eV).
    scale : float
        Channel width (eV).
    size : int
        Number of channels.
    resolution_fwhm : float
        Gaussian instrument resolution (eV).

    Returns
    -------
    EndmemberSet
        Spectra of shape ``(3, size)``, each with maximum 1.
    """
    e0 = offset

    def pt(e):
        return _power_law(e, e0, 3.5)

    def co(e):
        bg = _power_law(e, e0, 3.0)
        l3, l2 = ONSETS["Co_L3"], ONSETS["Co_L2"]
        jump = 1.2 * _power_law(l3, e0, 3.0)  # jump ratio ~1.2 at L3
        return bg + jump * _l23_edge(e, l3, l2, decay=2.5, white_line=3.0)

    def ru(e):
        bg = _power_law(e, e0, 2.7)
        m5, m4 = ONSETS["Ru_M5"], ONSETS["Ru_M4"]
        m45 = 0.6 * _delayed_edge(e, m5, rise=50.0) + 0.4 * _delayed_edge(
            e, m4, rise=50.0
        )
        m3, m2 = ONSETS["Ru_M3"], ONSETS["Ru_M2"]
        m23 = (
            2.0 * _k_edge(e, m3, decay=2.5, width=2.0) + _k_edge(e, m2, 2.5, 2.0)
        ) / 3
        return (
            bg
            + 0.9 * _power_law(m5, e0, 2.7) * m45
            + 0.35 * _power_law(m3, e0, 2.7) * m23
        )

    return _build_set(
        [pt, co, ru], ("Pt", "Co", "Ru"), offset, scale, size, resolution_fwhm
    )


def endmembers_k(offset=250.0, scale=0.5, size=903, resolution_fwhm=1.0):
    """Four endmembers with K edges (C, N, O), 0.5 eV per channel.

    Stands in for Brun et al.'s (2024) 4-component, 903-channel set. The default axis
    covers 250-701 eV.

    * ``"amorphous C"``: C K (284 eV) with pi* (285 eV) and broad sigma*
      (~292-300 eV) peaks; background ``E**-3.0``.
    * ``"nitride"``: N K (401 eV) with pi*/sigma* structure (h-BN-like) and a
      little adventitious C K; background ``E**-3.3``.
    * ``"oxide"``: O K (532 eV) with a pre-peak at ~532 eV and a broad maximum
      near 540 eV; background ``E**-3.5``.
    * ``"carbonate"``: C K shifted to ~288 eV with the carbonate pi* at
      290.3 eV, plus O K, a C:O mix unlike the other components; background
      ``E**-3.2``.

    Parameters
    ----------
    offset : float
        Energy of the first channel (eV).
    scale : float
        Channel width (eV).
    size : int
        Number of channels.
    resolution_fwhm : float
        Gaussian instrument resolution (eV).

    Returns
    -------
    EndmemberSet
        Spectra of shape ``(4, size)``, each with maximum 1.
    """
    e0 = offset
    ck, nk, ok = ONSETS["C_K"], ONSETS["N_K"], ONSETS["O_K"]

    def edge(e, onset, r_bg, jump, **kw):
        # Edge jump expressed as a ratio to the background at the onset.
        return jump * _power_law(onset, e0, r_bg) * _k_edge(e, onset, **kw)

    def amorphous_c(e):
        r = 3.0
        peaks = ((285.0, 0.8, 1.5), (292.5, 0.6, 6.0), (300.0, 0.3, 10.0))
        return _power_law(e, e0, r) + edge(e, ck, r, 1.5, decay=2.8, peaks=peaks)

    def nitride(e):
        r = 3.3
        peaks = ((401.5, 1.0, 1.5), (408.5, 0.6, 5.0), (420.0, 0.2, 12.0))
        return (
            _power_law(e, e0, r)
            + edge(e, ck, r, 0.15, decay=2.8, peaks=((285.0, 0.5, 1.5),))
            + edge(e, nk, r, 1.2, decay=2.8, peaks=peaks)
        )

    def oxide(e):
        r = 3.5
        peaks = ((533.0, 0.5, 2.0), (540.0, 0.8, 8.0), (560.0, 0.25, 15.0))
        return _power_law(e, e0, r) + edge(e, ok, r, 1.5, decay=2.8, peaks=peaks)

    def carbonate(e):
        r = 3.2
        c_peaks = ((290.3, 1.5, 1.2), (301.0, 0.5, 8.0))
        o_peaks = ((534.0, 0.6, 2.0), (542.0, 0.7, 10.0))
        return (
            _power_law(e, e0, r)
            # Carbonate C K is chemically shifted up by a few eV (C4+).
            + edge(e, ck + 4.0, r, 0.5, decay=2.8, peaks=c_peaks)
            + edge(e, ok, r, 0.6, decay=2.8, peaks=o_peaks)
        )

    return _build_set(
        [amorphous_c, nitride, oxide, carbonate],
        ("amorphous C", "nitride", "oxide", "carbonate"),
        offset,
        scale,
        size,
        resolution_fwhm,
    )


# --------------------------------------------------------------------------
# Abundances and spectrum images
# --------------------------------------------------------------------------


def chequerboard_abundances(
    n_components, shape=(64, 64), block=8, k=9, random_state=None
):
    """Chequerboard abundance maps blurred into mixed pixels.

    The image is tiled into ``block x block`` squares, each assigned at random
    to one component (every component gets at least one tile); the one-hot
    maps are then smoothed by a ``k x k`` averaging filter (reflecting at the
    image border). The filter is linear and the one-hot maps sum to one, so the
    abundances stay non-negative and sum to one at every pixel. With the
    reflecting border the pixels in the inner quarter of each corner tile stay
    pure, so every map has some pure pixels whenever ``k <= block + 1``.

    Parameters
    ----------
    n_components : int
        Number of components ``R``.
    shape : tuple of int
        ``(height, width)`` of the maps, in pixels.
    block : int
        Tile size in pixels; a last partial tile is kept if ``block`` does not
        divide ``shape``.
    k : int
        Size of the averaging filter (``k = 1`` leaves the tiles pure).
    random_state : None, int or numpy.random.Generator
        Seed or generator for the tile assignment.

    Returns
    -------
    numpy.ndarray
        Abundances of shape ``(n_components, height, width)``.
    """
    n_components = int(n_components)
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1; got {n_components}.")
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (height, width) >= 1; got {shape}.")
    if block < 1 or k < 1:
        raise ValueError(f"block and k must be >= 1; got block={block}, k={k}.")
    rng = np.random.default_rng(random_state)
    h, w = (int(s) for s in shape)
    th, tw = -(-h // block), -(-w // block)  # number of tiles (ceil)
    n_tiles = th * tw
    if n_tiles < n_components:
        raise ValueError(
            f"{n_tiles} tiles of {block}x{block} pixels cannot hold "
            f"{n_components} components: use a larger shape or a smaller block."
        )
    labels = rng.integers(0, n_components, size=n_tiles)
    # Guarantee every component a tile: give R random distinct tiles a
    # random permutation of all labels.
    chosen = rng.choice(n_tiles, size=n_components, replace=False)
    labels[chosen] = rng.permutation(n_components)
    label_img = np.kron(labels.reshape(th, tw), np.ones((block, block), dtype=int))
    label_img = label_img[:h, :w]
    onehot = (label_img[None] == np.arange(n_components)[:, None, None]).astype(float)
    abund = uniform_filter(onehot, size=(1, k, k), mode="reflect")
    # Remove round-off so sum-to-one holds to float precision.
    abund = np.clip(abund, 0.0, None)
    abund /= abund.sum(axis=0, keepdims=True)
    return abund


@dataclass(eq=False)
class SyntheticSI:
    """A synthetic spectrum image with its ground truth.

    Attributes
    ----------
    signal : exspy.signals.EELSSpectrum
        Noisy spectrum image (navigation shape ``shape``, float counts).
    clean : exspy.signals.EELSSpectrum
        The same before noise.
    endmembers : exspy.signals.EELSSpectrum
        True endmembers, one per navigation index, in counts such that
        ``clean = abundances^T @ endmembers`` pixel by pixel.
    abundances : hyperspy.signals.Signal2D
        True abundance maps: navigation size ``R``, signal shape ``shape``.
    names : tuple of str
        Component names.
    dose : float or None
        Mean total counts per spectrum (``None``: no noise).
    shift, broadening, amplitude : ndarray or None
        The per-pixel variations applied (see
        :func:`chequerboard_spectrum_image`), ``(height, width)``.
    """

    signal: object
    clean: object
    endmembers: object
    abundances: object
    names: tuple[str, ...]
    dose: float | None
    #: Energy shift of each pixel (eV, ``(height, width)``), or None.
    shift: np.ndarray | None = None
    #: Gaussian broadening of each pixel (standard deviation, eV), or None.
    broadening: np.ndarray | None = None
    #: Intensity factor of each pixel (thickness-like), or None.
    amplitude: np.ndarray | None = None

    @property
    def endmember_array(self) -> np.ndarray:
        """True endmembers as an ``(R, B)`` array (counts scale)."""
        return np.asarray(self.endmembers.data)

    @property
    def abundance_array(self) -> np.ndarray:
        """True abundances as ``(R, n_pixels)``, pixels in C order.

        Column ``p`` matches row ``p`` of ``signal.data.reshape(-1, B)``.
        """
        data = np.asarray(self.abundances.data)
        return data.reshape(data.shape[0], -1)


def _energy_axis_dict(es):
    return {
        "name": "Energy loss",
        "units": "eV",
        "offset": es.offset,
        "scale": es.scale,
        "size": es.n_channels,
        "navigate": False,
    }


def _pixel_axes(shape):
    h, w = shape
    return [
        {"name": "y", "units": "px", "size": h, "scale": 1.0, "offset": 0.0},
        {"name": "x", "units": "px", "size": w, "scale": 1.0, "offset": 0.0},
    ]


def _component_axis(n):
    return {"name": "component", "units": "", "size": n, "navigate": True}


def chequerboard_spectrum_image(
    endmember_set="ml",
    shape=(64, 64),
    block=8,
    k=9,
    dose=2000.0,
    random_state=None,
    *,
    shift=None,
    broadening=None,
    amplitude=None,
    no_pure_component=None,
    max_abundance=0.6,
):
    """Synthetic chequerboard EELS spectrum image (Brun et al. 2024 protocol).

    Parameters
    ----------
    endmember_set : {"ml", "k"} or EndmemberSet
        ``"ml"``: :func:`endmembers_ml` (3 x 200, M/L edges); ``"k"``:
        :func:`endmembers_k` (4 x 903, K edges); or any :class:`EndmemberSet`.
    shape : tuple of int
        ``(height, width)`` of the image in pixels.
    block : int
        Chequerboard tile size (pixels).
    k : int
        Size of the averaging filter that mixes neighbouring tiles.
    dose : float or None
        Mean total counts of one spectrum (summed over all channels, averaged
        over pixels) before Poisson noise. ``None`` returns noise-free data
        with the endmembers at unit maximum.
    random_state : None, int or numpy.random.Generator
        Seed or generator for both the layout and the noise: the same seed
        gives the same image.
    shift : float or ndarray, optional
        Energy shift of each pixel's spectrum, in eV (edges and background
        move together, as with a drifting spectrometer): a number ramps it
        linearly from 0 to that value across the image (along x, as a drift
        during the scan; Pate et al. 2021 saw 1.5 eV), or give a ``(height,
        width)`` map. A drifted spectrum is not a linear mixture of the
        endmembers.
    broadening : float or ndarray, optional
        Gaussian broadening of each pixel's spectrum (standard deviation, eV;
        plural scattering in thicker regions blurs the fine structure): a
        number ramps it from 0 to that value along y, or give a map.
    amplitude : float or ndarray, optional
        Intensity factor of each pixel (thickness): a number ramps it from 1
        to that value along y, or give a map. Applied after ``dose``, so the
        mean counts change with it.
    no_pure_component : int, optional
        A component with no pure pixel (as Ru in Brun et al. 2024): its abundance
        is capped at ``max_abundance`` and the excess shared among the other
        components of the pixel in proportion to theirs (or equally where
        they are all zero).
    max_abundance : float, default 0.6
        The cap of ``no_pure_component``.

    Returns
    -------
    SyntheticSI
        The noisy and clean signals with their true endmembers and
        abundances (the endmembers as given, without shift or broadening),
        and the variations applied.
    """
    if isinstance(endmember_set, EndmemberSet):
        es, label = endmember_set, "custom"
    elif endmember_set in ("ml", "k"):
        es = endmembers_ml() if endmember_set == "ml" else endmembers_k()
        label = endmember_set
    else:
        raise ValueError(
            f"endmember_set must be 'ml', 'k' or an EndmemberSet; got "
            f"{endmember_set!r}."
        )
    if dose is not None and not dose > 0:
        raise ValueError(f"dose must be positive or None; got {dose}.")
    rng = np.random.default_rng(random_state)
    abund = chequerboard_abundances(
        es.n_components, shape=shape, block=block, k=k, random_state=rng
    )
    if no_pure_component is not None:
        abund = _cap_abundance(abund, int(no_pure_component), float(max_abundance))
    return mixed_spectrum_image(
        es,
        abund,
        dose,
        rng,
        shift=shift,
        broadening=broadening,
        amplitude=amplitude,
        title=f"Synthetic chequerboard SI ({label}, {_dose_text(dose)})",
        label=label,
    )


def _dose_text(dose):
    """How a title says the dose: ``"dose 200"`` or ``"noise-free"``."""
    return "noise-free" if dose is None else f"dose {dose:g}"


def mixed_spectrum_image(
    es,
    abundances,
    dose,
    random_state=None,
    *,
    shift=None,
    broadening=None,
    amplitude=None,
    title="Synthetic SI",
    label="custom",
):
    """A spectrum image mixed linearly from endmembers and abundance maps,
    then varied per pixel and drawn with Poisson noise.

    Parameters
    ----------
    es : EndmemberSet
    abundances : ndarray, shape (R, height, width)
        Non-negative, summing to one at every pixel.
    dose : float or None
        Mean total counts of one spectrum before noise (``None``: no noise).
    random_state : None, int or numpy.random.Generator
        Seeds the noise.
    shift, broadening, amplitude : float or ndarray, optional
        As :func:`chequerboard_spectrum_image` (``shift`` in eV).
    title : str
        Title of the noisy signal (" clean" is appended for the clean one).
    label : str
        Name of the endmember set in the titles of the truth signals.

    Returns
    -------
    SyntheticSI
    """
    if dose is not None and not dose > 0:
        raise ValueError(f"dose must be positive or None; got {dose}.")
    # Local import: exspy pulls in HyperSpy, which the rest of this module
    # does not need.
    import hyperspy.api as hs
    from exspy.signals import EELSSpectrum

    rng = np.random.default_rng(random_state)
    abund = np.asarray(abundances, dtype=float)
    h, w = abund.shape[1:]
    spectra = es.spectra
    if dose is not None:
        # Scale the endmembers (not the mixture) so that clean = A^T M holds
        # exactly for the returned ground truth.
        mean_total = (abund.reshape(es.n_components, -1).T @ spectra).sum(1).mean()
        spectra = spectra * (dose / mean_total)
    clean = np.tensordot(abund, spectra, axes=(0, 0))  # (h, w, B)
    shift_map = _variation_map(shift, (h, w), "shift", start=0.0, along="x")
    broad_map = _variation_map(broadening, (h, w), "broadening", start=0.0, along="y")
    amp_map = _variation_map(amplitude, (h, w), "amplitude", start=1.0, along="y")
    if broad_map is not None:
        if (broad_map < 0).any():
            raise ValueError("broadening must be >= 0 (a standard deviation in eV).")
        clean = _broaden(clean, broad_map / es.scale)
    if shift_map is not None:
        clean = shift_spectra(clean, shift_map / es.scale)
    if amp_map is not None:
        if (amp_map <= 0).any():
            raise ValueError("amplitude must be > 0 (an intensity factor).")
        clean = clean * amp_map[..., None]
    noisy = clean if dose is None else rng.poisson(clean).astype(float)

    axes = [*_pixel_axes((h, w)), _energy_axis_dict(es)]

    def make(data, title):
        s = EELSSpectrum(data, axes=[dict(a) for a in axes])
        s.metadata.General.title = title
        s.set_microscope_parameters(
            beam_energy=100.0, convergence_angle=30.0, collection_angle=50.0
        )
        return s

    signal = make(noisy, title)
    clean_s = make(clean, title + " clean")
    endm = EELSSpectrum(
        spectra.copy(), axes=[_component_axis(es.n_components), _energy_axis_dict(es)]
    )
    endm.metadata.General.title = f"True endmembers ({label})"
    ab = hs.signals.Signal2D(
        abund, axes=[_component_axis(es.n_components), *_pixel_axes((h, w))]
    )
    ab.metadata.General.title = f"True abundances ({label})"
    return SyntheticSI(
        signal=signal,
        clean=clean_s,
        endmembers=endm,
        abundances=ab,
        names=es.names,
        dose=None if dose is None else float(dose),
        shift=shift_map,
        broadening=broad_map,
        amplitude=amp_map,
    )


def _variation_map(value, shape, name, start, along):
    """A per-pixel map: None, a linear ramp from ``start`` to ``value`` along
    x (columns) or y (rows), or a given ``(height, width)`` array."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        h, w = shape
        n = w if along == "x" else h
        ramp = np.linspace(start, float(arr), n)
        return np.broadcast_to(
            ramp[None] if along == "x" else ramp[:, None], shape
        ).copy()
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{name} must be a number or a {shape} map; got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite.")
    return arr.copy()


def _broaden(cube, sigma):
    """Each spectrum blurred by a Gaussian of ``sigma`` channels (per pixel;
    the distinct values are few for a ramp, so one filter per value)."""
    out = cube.copy()
    for value in np.unique(sigma):
        if value > 0:
            where = sigma == value
            out[where] = gaussian_filter1d(cube[where], value, axis=-1, mode="nearest")
    return out


def _cap_abundance(abund, component, cap):
    """Cap one component's abundance, giving the excess to the others."""
    R = abund.shape[0]
    if R < 2:
        raise ValueError("no_pure_component needs at least 2 components to mix.")
    if not 0 <= component < R:
        raise ValueError(f"no_pure_component must be in [0, {R}); got {component}.")
    if not 0 < cap < 1:
        raise ValueError(f"max_abundance must be in (0, 1); got {cap}.")
    out = abund.copy()
    excess = np.clip(out[component] - cap, 0.0, None)
    out[component] -= excess
    others = np.delete(np.arange(R), component)
    share = out[others]
    total = share.sum(axis=0)
    weights = np.where(
        total > 0, share / np.where(total > 0, total, 1), 1 / len(others)
    )
    out[others] += weights * excess
    return out
