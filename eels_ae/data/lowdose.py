"""Synthetic low-dose O K-edge spectrum images (protocol of Pate et al. 2021).

RapidEELS (Pate et al. 2021) denoises O K-edge spectra of SrFeO3-d recorded at 400
frames per second: about 15 counts per channel at the edge, an oxidation-state
change (Fe4+ -> Fe3+) that shows in the edge position and the O K pre-peak,
a 1.5 eV energy drift across the scan, and a thickness of 0.6-1.3 inelastic
mean free paths whose plural scattering changes the spectra. Its data are not
public, so :func:`lowdose_spectrum_image` builds a stand-in whose clean spectra
and physical parameters are known at every pixel.

Model (energies ``E`` in eV; all parameters are in the module-level dicts
:data:`EDGE_PARAMETERS`, :data:`STATE_PARAMETERS`,
:data:`BACKGROUND_PARAMETERS` and :data:`PLASMON_PARAMETERS`)
-------------------------------------------------------------------------

* **Single-scattering O K edge** of a pixel in state ``s`` with threshold
  ``E0 = onset + shift[s]`` (``onset`` = 528 eV), in units of the continuum
  edge jump, with ``x = E - E0``:

  - a Gaussian pre-peak (O 2p - Fe 3d hybridised states) of FWHM 1.0 eV at
    ``x = 1.5`` eV and height ``prepeak[s]`` (1.0 for state 0, 0.5 for state 1);
  - an error-function step of unit height centred at ``x = 6`` eV (Gaussian
    width 1 eV: unlike an arctan step it leaves the pre-edge free of edge
    intensity, so a power law fits it exactly) decaying as
    ``(E / (E0 + 6)) ** -3`` above it;
  - near-edge peaks: a Gaussian main peak at ``x = 9`` eV (height 1.2, FWHM
    3.5 eV) and a broad one at ``x = 16`` eV (height 0.5, FWHM 8 eV).

  State 1 (the reduced, Fe3+-like state) has the whole edge shifted by
  +1.0 eV and half the pre-peak of state 0.

* **Plural scattering**: at thickness ``t = t/lambda`` the edge is
  ``t * SSD (x) exp(-t) [delta + t P + t**2/2! P(x)P + ...]`` where ``P`` is
  a normalised Drude bulk-plasmon loss function (22 eV, width 5 eV): the
  integrated edge grows like ``t`` (the number of atoms), the sharp
  unscattered part like ``t exp(-t)``, and thicker regions gain a broad
  plural-scattering replica of the edge about 22 eV above it (and, through
  the plasmon's low-energy tail, a slightly broadened near-edge structure).
  The Poisson sum is evaluated exactly in Fourier space,
  ``exp(t (P_hat - 1))``. ``t`` ramps linearly along ``y`` (rows) from
  ``thickness[0]`` to ``thickness[1]``.
* **Background**: a power law ``A (E / onset) ** -r`` with ``r = 3.5`` and
  ``A = 1.2 * t ** 1.5`` (edge-jump units): it grows a little faster than the
  edge with thickness, as the plural-scattered valence-loss tail does. It is
  not convolved again (it already is the measured, plurally scattered tail),
  so ``clean - clean_edge`` is exactly this power law, shifted by the drift.
* **Instrument**: Gaussian energy resolution of 0.8 eV FWHM (Schottky FEG);
  the model is evaluated on a 0.05 eV grid and integrated over each channel.
* **Energy drift**: the spectrometer's energy offset drifts linearly across
  the scan along ``x`` (columns): the whole recorded spectrum (background and
  edge) at column ``j`` is shifted up by ``drift * j / (nx - 1)`` eV, so the
  edge onset there is ``onset + shift[s] + drift * j / (nx - 1)``.
* **Dose**: the clean spectra are scaled so that the mean clean count per
  channel over each pixel's edge region, ``[E_onset, E_onset + 20 eV]``
  (background included), averaged over all pixels, equals
  ``counts_at_edge`` (~15 in Pate et al. 2021, a shot-noise SNR of ~3.8); the
  recorded spectra are Poisson draws from the clean ones.

Each pixel's spectrum is a per-(row, state) fine-grid spectrum shifted by its
column's drift, so a 40 x 80 x 240 image takes well under a second to build.

``edge="N K"`` and ``edge="Mn L2,3"`` (:data:`EDGE_SETS`) swap the O K edge
and its two states for another edge with its own shape and chemical shift
(the same model otherwise), so that a method tuned on the O K images can be
scored on edges it has not seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq
from scipy.special import erf

__all__ = [
    "BACKGROUND_PARAMETERS",
    "EDGE_PARAMETERS",
    "EDGE_SETS",
    "PLASMON_PARAMETERS",
    "STATE_PARAMETERS",
    "LowDoseSI",
    "lowdose_spectrum_image",
]

#: O K-edge shape shared by both states. Energies relative to the threshold
#: ``onset`` (eV); heights relative to the continuum edge jump.
EDGE_PARAMETERS = {
    "onset": 528.0,  # threshold E0 of state 0 at column 0 (eV)
    "prepeak_position": 1.5,  # pre-peak centre above E0 (eV)
    "prepeak_fwhm": 1.0,  # intrinsic pre-peak FWHM (eV)
    "step_position": 6.0,  # centre of the continuum step above E0 (eV)
    "step_width": 1.0,  # Gaussian sigma of the erf step (eV)
    "decay": 3.0,  # continuum falls as (E / E_step) ** -decay
    # near-edge peaks: (position above E0 in eV, height, FWHM in eV)
    "peaks": ((9.0, 1.2, 3.5), (16.0, 0.5, 8.0)),
    "resolution_fwhm": 0.8,  # Gaussian instrument resolution (eV)
}

#: The two oxidation states: edge shift (eV) and pre-peak height (edge-jump
#: units) of each label used in ``LowDoseSI.state``.
STATE_PARAMETERS = {
    0: {"name": "initial (SrFeO3-like, Fe4+)", "shift": 0.0, "prepeak": 1.0},
    1: {"name": "reduced (SrFeO2.5-like, Fe3+)", "shift": 1.0, "prepeak": 0.5},
}

#: Other edges, for images unlike the O K ones a denoiser was tuned on: the
#: same model (a first sharp peak, an erf step, near-edge peaks; every
#: energy relative to the threshold, heights in edge-jump units) with each
#: edge's own shape and chemical shift. ``"N K"``: a nitride / oxynitride
#: pair (the pi* peak weaker and the edge 0.8 eV higher in state 1);
#: ``"Mn L2,3"``: MnO / Mn2O3-like white lines (the L3 line is the first
#: peak and the main one, L2 ~11 eV above it; state 1 is 1.5 eV higher, its
#: L3 line weaker).
EDGE_SETS = {
    "O K": {"edge": EDGE_PARAMETERS, "states": STATE_PARAMETERS},
    "N K": {
        "edge": {
            "onset": 398.0,
            "prepeak_position": 1.2,
            "prepeak_fwhm": 1.2,
            "step_position": 5.0,
            "step_width": 1.2,
            "decay": 2.8,
            "peaks": ((8.0, 1.0, 4.0), (18.0, 0.5, 8.0)),
            "resolution_fwhm": 0.8,
        },
        "states": {
            0: {"name": "nitride", "shift": 0.0, "prepeak": 0.8},
            1: {"name": "oxynitride", "shift": 0.8, "prepeak": 0.4},
        },
    },
    "Mn L2,3": {
        "edge": {
            "onset": 638.0,
            "prepeak_position": 2.0,
            "prepeak_fwhm": 1.8,
            "step_position": 2.5,
            "step_width": 1.0,
            "decay": 3.0,
            "peaks": ((13.0, 2.0, 2.4), (22.0, 0.3, 8.0)),
            "resolution_fwhm": 0.8,
        },
        "states": {
            0: {"name": "Mn2+ (MnO-like)", "shift": 0.0, "prepeak": 5.0},
            1: {"name": "Mn3+ (Mn2O3-like)", "shift": 1.5, "prepeak": 3.5},
        },
    },
}

#: Power-law background ``ratio * t ** thickness_exponent * (E / onset) ** -r``
#: in edge-jump units.
BACKGROUND_PARAMETERS = {"r": 3.5, "ratio": 1.2, "thickness_exponent": 1.5}

#: Drude bulk plasmon used for plural scattering (eV).
PLASMON_PARAMETERS = {"energy": 22.0, "width": 5.0, "max_energy": 150.0}

_FINE_STEP = 0.05  # eV, grid on which the model is evaluated
_EDGE_WINDOW = 20.0  # eV above the onset over which counts_at_edge is defined
_PIXEL_SIZE_NM = 2.0
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(eq=False)
class LowDoseSI:
    """A synthetic low-dose O K-edge spectrum image with its ground truth.

    Attributes
    ----------
    signal : exspy.signals.EELSSpectrum
        Noisy spectrum image: Poisson counts (float32), navigation axes
        ``y``, ``x`` (nm), signal axis "Energy loss" (eV).
    clean : exspy.signals.EELSSpectrum
        Expected counts (no noise), same axes.
    clean_edge : exspy.signals.EELSSpectrum
        ``clean`` minus its power-law background: the background-free
        core-loss signal (plural scattering included), same axes.
    edge_onset : hyperspy.signals.Signal2D
        True edge threshold (eV) at each pixel:
        ``onset + shift[state] + drift * j / (nx - 1)``.
    prepeak_height : hyperspy.signals.Signal2D
        True pre-peak height (counts per channel):
        ``eels_ae.metrics.prepeak_height(clean_edge, window=prepeak_window)``.
    thickness : hyperspy.signals.Signal2D
        Thickness ``t / lambda`` at each pixel.
    state : hyperspy.signals.Signal2D
        Oxidation-state label (0 or 1, integer) at each pixel; see
        :data:`STATE_PARAMETERS`.
    background_range : tuple of float
        Pre-edge window (eV) free of edge intensity at every pixel, for a
        power-law fit such as ``remove_background(signal_range=...)``.
    prepeak_window : tuple of float
        Energy window (eV) holding the pre-peak of every pixel (whatever its
        drift and state) and none of the main edge.
    edge_search_range : tuple of float
        Energy window (eV) for ``eels_ae.metrics.edge_onset(...,
        search_range=...)``: it holds the main edge and its main peak at every
        pixel and ends before the plural-scattering hump, which in thick
        regions (t/lambda > ~0.9) rises above the main peak.
    drift : float
        Energy drift (eV) from the first to the last column.
    counts_at_edge : float
        Mean clean counts per channel over the edge regions (see module
        docstring).
    """

    signal: object
    clean: object
    clean_edge: object
    edge_onset: object
    prepeak_height: object
    thickness: object
    state: object
    background_range: tuple[float, float]
    prepeak_window: tuple[float, float]
    edge_search_range: tuple[float, float]
    drift: float
    counts_at_edge: float


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def _gaussian(e, centre, fwhm):
    """Gaussian of unit peak height."""
    sigma = fwhm * _FWHM_TO_SIGMA
    return np.exp(-0.5 * ((e - centre) / sigma) ** 2)


def _single_scattering_edge(e, p, st):
    """Single-scattering distribution (edge-jump units) on energies ``e`` of
    the edge ``p`` in the state ``st`` (entries of :data:`EDGE_SETS`)."""
    e0 = p["onset"] + st["shift"]
    x = e - e0
    e_step = e0 + p["step_position"]
    step = 0.5 * (
        1.0 + erf((x - p["step_position"]) / (np.sqrt(2.0) * p["step_width"]))
    )
    out = step * (np.maximum(e, e_step) / e_step) ** (-p["decay"])
    out = out + st["prepeak"] * _gaussian(x, p["prepeak_position"], p["prepeak_fwhm"])
    for centre, height, fwhm in p["peaks"]:
        out = out + height * _gaussian(x, centre, fwhm)
    return out


def _plasmon_kernel(step):
    """Normalised Drude loss function sampled at ``0, step, 2 step, ...``."""
    ep, gamma = PLASMON_PARAMETERS["energy"], PLASMON_PARAMETERS["width"]
    e = np.arange(int(PLASMON_PARAMETERS["max_energy"] / step) + 1) * step
    loss = e * ep**2 * gamma / ((e**2 - ep**2) ** 2 + (e * gamma) ** 2)
    return loss / loss.sum()


def _background_channels(edges, r, e_ref):
    """Channel means of ``(E / e_ref) ** -r`` between consecutive ``edges``."""
    k = 1.0 - r
    prim = e_ref * (edges / e_ref) ** k / k  # antiderivative
    return np.diff(prim, axis=-1) / np.diff(edges, axis=-1)


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_shape(shape):
    try:
        ny, nx = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"shape must be a pair of integers (rows, columns); got {shape!r}."
        ) from None
    if ny < 1 or nx < 1:
        raise ValueError(f"shape must have at least 1 pixel per axis; got {shape!r}.")
    return ny, nx


def _check_thickness(thickness, ny):
    t = np.asarray(thickness, dtype=float)
    if t.ndim == 0:
        t = np.array([t, t])
    if t.shape != (2,):
        raise ValueError(
            f"thickness must be a number or a pair (top, bottom) of t/lambda; "
            f"got {thickness!r}."
        )
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"thickness (t/lambda) must be positive; got {thickness!r}.")
    return np.linspace(t[0], t[1], ny)


def _check_state(state, shape):
    arr = np.asarray(state)
    if arr.ndim == 0:
        arr = np.full(shape, arr)
    if arr.shape != shape:
        raise ValueError(
            f"state must be 0, 1 or an array of shape {shape} (the image shape); "
            f"got shape {arr.shape}."
        )
    if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
        labels = np.unique(arr) if arr.dtype.kind in "biuf" else arr.dtype
        raise ValueError(
            f"state labels must be 0 or 1 (see STATE_PARAMETERS); got {labels}."
        )
    return arr.astype(np.int64)


# --------------------------------------------------------------------------
# Spectrum image
# --------------------------------------------------------------------------


def lowdose_spectrum_image(
    shape=(40, 80),
    n_channels=240,
    offset=None,
    scale=0.25,
    counts_at_edge=15.0,
    drift=1.5,
    thickness=(0.6, 1.3),
    state=0,
    random_state=None,
    edge="O K",
):
    """Synthetic low-dose O K-edge spectrum image (Pate et al. 2021 protocol).

    See the module docstring for the physical model.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, columns)`` = ``(ny, nx)`` of the scan; rows run along ``y``,
        columns along ``x``.
    n_channels : int
        Number of energy channels (at least 16).
    offset : float or None
        Energy of the first channel (eV); ``None``: 28 eV below the edge's
        threshold. The default axis of the O K edge, 500-559.75 eV, leaves
        500-525 eV free of edge intensity for background fitting.
    scale : float
        Channel width (eV).
    counts_at_edge : float
        Mean clean counts per channel over ``[onset, onset + 20 eV]`` of each
        pixel (background included), averaged over pixels.
    drift : float
        Energy shift (eV) of the whole spectrum from the first to the last
        column, linear in the column index.
    thickness : float or tuple of float
        ``t / lambda``, ramped linearly along ``y`` from ``thickness[0]``
        (first row) to ``thickness[1]`` (last row); a number gives a uniform
        thickness.
    state : {0, 1} or array-like of int
        Oxidation state of every pixel, or a ``shape`` map of 0/1 labels.
    random_state : None, int or numpy.random.Generator
        Seed or generator for the Poisson noise: the same seed gives the same
        data.
    edge : {"O K", "N K", "Mn L2,3"}, default "O K"
        Which edge and pair of chemical states (:data:`EDGE_SETS`): the
        other two have their own shapes and shifts, for tests on edges a
        method was not tuned on.

    Returns
    -------
    LowDoseSI
        Noisy and clean signals, the background-free clean edge and the
        per-pixel ground truth (edge onset, pre-peak height, thickness, state).

    Raises
    ------
    ValueError
        For an empty shape, fewer than 16 channels, non-positive
        ``counts_at_edge``, ``scale`` or thickness, a state map of the wrong
        shape or with labels other than 0/1, or an energy axis that leaves no
        room for the pre-edge window or the edge.
    """
    ny, nx = _check_shape(shape)
    if edge not in EDGE_SETS:
        raise ValueError(f"edge must be one of {sorted(EDGE_SETS)}; got {edge!r}.")
    edge_p, state_p = EDGE_SETS[edge]["edge"], EDGE_SETS[edge]["states"]
    if offset is None:
        offset = edge_p["onset"] - 28.0
    n = int(n_channels)
    if n < 16:
        raise ValueError(f"n_channels must be at least 16; got {n_channels}.")
    if not (np.isfinite(counts_at_edge) and counts_at_edge > 0):
        raise ValueError(f"counts_at_edge must be positive; got {counts_at_edge}.")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive; got {scale}.")
    if not np.isfinite(drift):
        raise ValueError(f"drift must be finite; got {drift}.")
    offset, scale, drift = float(offset), float(scale), float(drift)
    t_rows = _check_thickness(thickness, ny)
    states = _check_state(state, (ny, nx))

    onset = edge_p["onset"]
    col_shift = drift * np.arange(nx) / max(nx - 1, 1)  # (nx,)
    d_lo, d_hi = min(0.0, drift), max(0.0, drift)
    if offset - d_hi <= 0:
        raise ValueError(
            f"offset must be positive (a power law needs E > 0); got {offset}."
        )
    energy = offset + scale * np.arange(n)
    shifts = np.array([state_p[s]["shift"] for s in (0, 1)])
    used = np.unique(states)
    lowest_onset = onset + d_lo + shifts[used].min()
    highest_onset = onset + d_hi + shifts[used].max()
    # Pre-edge window: clear of the pre-peak's Gaussian tail (and of the
    # resolution) by 3 eV below the lowest threshold.
    background_range = (float(offset), float(lowest_onset - 3.0))
    n_bg = np.count_nonzero(
        (energy >= background_range[0]) & (energy <= background_range[1])
    )
    if n_bg < 8:
        raise ValueError(
            f"the energy axis ({energy[0]:g}-{energy[-1]:g} eV) leaves {n_bg} "
            f"channels below {background_range[1]:g} eV for the pre-edge "
            "background fit; start it at least 2 eV (8 channels) lower."
        )
    main_peak = highest_onset + edge_p["peaks"][0][0]
    if energy[-1] < main_peak:
        raise ValueError(
            f"the energy axis ({energy[0]:g}-{energy[-1]:g} eV) must extend past "
            f"the main edge peak (~{main_peak:g} eV): raise n_channels, scale or "
            "offset."
        )
    # Window holding every pixel's main edge and main peak but ending before
    # the plural-scattering hump (~22 eV above the edge) of thick regions.
    edge_search_range = (
        background_range[1],
        float(highest_onset + edge_p["peaks"][0][0] + 5.0),
    )
    pp = edge_p["prepeak_position"]
    prepeak_window = (
        float(onset + d_lo + shifts[used].min() + pp - 1.0),
        float(onset + d_hi + shifts[used].max() + pp + 1.0),
    )

    # ---- fine grid covering every shifted channel --------------------------
    sub = max(1, int(np.ceil(scale / _FINE_STEP)))
    step = scale / sub
    sigma_res = edge_p["resolution_fwhm"] * _FWHM_TO_SIGMA
    pad = 5.0 * sigma_res + 2.0 * step
    lo = offset - 0.5 * scale - d_hi - pad
    hi = offset + scale * (n - 0.5) - d_lo + pad
    n_fine = int(np.ceil((hi - lo) / step))
    e_fine = lo + (np.arange(n_fine) + 0.5) * step  # bin centres
    kernel = _plasmon_kernel(step)
    # Zero padding against wrap-around of the circular convolution: the
    # n-fold plasmon terms reach n * max_energy, and n up to ~t + 3 matter.
    n_orders = int(np.ceil(t_rows.max())) + 3
    n_fft = next_fast_len(n_fine + n_orders * kernel.size + int(np.ceil(pad / step)))
    freq = rfftfreq(n_fft, d=step)
    res_hat = np.exp(-2.0 * (np.pi * freq * sigma_res) ** 2)
    plasmon_hat = rfft(kernel, n_fft)
    # exp(t (P_hat - 1)): Fourier transform of exp(-t) sum_n t^n/n! P^(*n).
    lowloss_hat = np.exp(t_rows[:, None] * (plasmon_hat[None, :] - 1.0)) * res_hat

    # Cumulative integral of each (row, state) edge at the fine bin boundaries,
    # C[k] = integral from lo to lo + k * step; shape (ny, 2, n_fine + 1).
    cum = np.zeros((ny, 2, n_fine + 1))
    for s in used:
        ssd = _single_scattering_edge(e_fine, edge_p, state_p[int(s)])
        ssd_hat = rfft(ssd, n_fft)
        spec_edge = irfft(lowloss_hat * ssd_hat[None, :], n_fft)[:, :n_fine]
        spec_edge *= t_rows[:, None]
        cum[:, s, 1:] = np.cumsum(spec_edge, axis=1) * step

    # Channel boundaries of every column, in the unshifted frame.
    edges = offset + scale * (np.arange(n + 1) - 0.5)
    col_edges = edges[None, :] - col_shift[:, None]  # (nx, n + 1)
    pos = (col_edges - lo) / step
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n_fine - 1)
    w = pos - i0
    bg_shape = _background_channels(
        col_edges, BACKGROUND_PARAMETERS["r"], onset
    )  # (nx, n)
    bg_amp = (
        BACKGROUND_PARAMETERS["ratio"]
        * t_rows ** BACKGROUND_PARAMETERS["thickness_exponent"]
    )

    # Edge-region masks per (state, column) for the counts_at_edge scaling.
    onset_sc = onset + shifts[:, None] + col_shift[None, :]  # (2, nx)
    in_edge = (energy >= onset_sc[..., None]) & (
        energy <= onset_sc[..., None] + _EDGE_WINDOW
    )  # (2, nx, n)
    if not np.all(in_edge[used].any(axis=-1)):
        raise ValueError("the energy axis does not reach the edge at every pixel.")

    clean_edge = np.empty((ny, nx, n), dtype=np.float32)
    clean = np.empty((ny, nx, n), dtype=np.float32)
    edge_sum = 0.0
    cols = np.arange(nx)
    chunk = max(1, 2**21 // (nx * (n + 1)))
    for r0 in range(0, ny, chunk):
        rows = slice(r0, min(ny, r0 + chunk))
        st = states[rows]  # (R, nx)
        block = np.zeros((st.shape[0], nx, n))
        for s in used:
            cs = cum[rows, s]  # (R, n_fine + 1)
            vals = cs[:, i0] * (1.0 - w) + cs[:, i0 + 1] * w  # (R, nx, n + 1)
            spec = np.diff(vals, axis=-1) / scale
            block = np.where((st == s)[..., None], spec, block)
        clean_edge[rows] = block
        total = block + bg_amp[rows, None, None] * bg_shape[None]
        clean[rows] = total
        mask = in_edge[st, cols[None, :]]  # (R, nx, n)
        edge_sum += float(((total * mask).sum(-1) / mask.sum(-1)).sum())
    factor = counts_at_edge / (edge_sum / (ny * nx))
    clean *= factor
    clean_edge *= factor

    rng = np.random.default_rng(random_state)
    noisy = np.empty_like(clean)
    for r0 in range(0, ny, chunk):
        rows = slice(r0, min(ny, r0 + chunk))
        noisy[rows] = rng.poisson(clean[rows])

    # ---- HyperSpy signals --------------------------------------------------
    import hyperspy.api as hs
    from exspy.signals import EELSSpectrum

    from eels_ae.metrics import prepeak_height as _prepeak_height

    nav_axes = [
        {
            "name": "y",
            "units": "nm",
            "size": ny,
            "scale": _PIXEL_SIZE_NM,
            "offset": 0.0,
        },
        {
            "name": "x",
            "units": "nm",
            "size": nx,
            "scale": _PIXEL_SIZE_NM,
            "offset": 0.0,
        },
    ]
    e_axis = {
        "name": "Energy loss",
        "units": "eV",
        "size": n,
        "scale": scale,
        "offset": offset,
        "navigate": False,
    }
    base = (
        f"Synthetic low-dose {edge} SI ({counts_at_edge:g} counts/channel, "
        f"drift {drift:g} eV)"
    )

    def spectrum(data, title):
        s = EELSSpectrum(data, axes=[dict(a) for a in nav_axes] + [dict(e_axis)])
        s.metadata.General.title = title
        s.metadata.Signal.signal_type = "EELS"
        s.set_microscope_parameters(
            beam_energy=200.0, convergence_angle=8.0, collection_angle=24.0
        )
        return s

    def image(data, title):
        s = hs.signals.Signal2D(data, axes=[dict(a) for a in nav_axes])
        s.metadata.General.title = title
        return s

    onset_map = onset + shifts[states] + col_shift[None, :]
    prepeak_map = _prepeak_height(clean_edge, energy, window=prepeak_window)
    return LowDoseSI(
        signal=spectrum(noisy, base),
        clean=spectrum(clean, base + " clean"),
        clean_edge=spectrum(clean_edge, base + " clean edge (no background)"),
        edge_onset=image(onset_map, "True edge onset (eV)"),
        prepeak_height=image(prepeak_map, "True pre-peak height (counts)"),
        thickness=image(np.repeat(t_rows[:, None], nx, axis=1), "Thickness (t/lambda)"),
        state=image(states, "Oxidation state"),
        background_range=background_range,
        prepeak_window=prepeak_window,
        edge_search_range=edge_search_range,
        drift=drift,
        counts_at_edge=float(counts_at_edge),
    )
