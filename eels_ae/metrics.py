"""Unmixing quality metrics: spectral angle (SAD), NMSE, component matching.

Definitions follow Brun et al. 2024:

* ``SAD(a, a_hat) = arccos(a . a_hat / (|a| |a_hat|))`` per endmember; it is
  blind to the scale of each spectrum, which unmixing cannot recover anyway.
* ``NMSE(Z, Z_hat) = |Z - Z_hat|_F**2 / |Z|_F**2`` per abundance map.

Estimated components come in arbitrary order, so they are first matched to
the true ones by a Hungarian assignment on the SAD matrix, and the same
permutation is then applied to the abundances.

Every function accepts NumPy arrays or HyperSpy signals (their ``.data`` is
used). Endmembers are ``(R, B)``: one spectrum per row, as returned by
``s.get_decomposition_factors()`` or ``SyntheticSI.endmembers``. Abundances are
``(R, n_pixels)`` or ``(R, height, width)``: component index first, as
returned by ``s.get_decomposition_loadings()`` or ``SyntheticSI.abundances``
(``s.learning_results.loadings`` is ``(n_pixels, R)``: pass its transpose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "UnmixingScores",
    "abundance_rmse",
    "circular_correlation",
    "edge_onset",
    "latent_r2",
    "match_components",
    "mse",
    "nmse",
    "power_law_background",
    "prepeak_height",
    "sad_matrix",
    "spectral_angle",
    "unmixing_scores",
]


def _data(x):
    """The array behind ``x`` (HyperSpy signal, lazy signal or array-like)."""
    if hasattr(x, "axes_manager") and hasattr(x, "data"):
        x = x.data
    return np.asarray(x, dtype=float)


def _endmembers(x, name):
    arr = _data(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (components, channels); got shape {arr.shape}. "
            "Pass one spectrum per row."
        )
    return arr


def _abundances(x, name):
    arr = _data(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must be (components, pixels) or (components, height, "
            f"width); got shape {arr.shape}."
        )
    # Maps (R, h, w) -> (R, h*w) in C order, matching HyperSpy's unfolding.
    return arr.reshape(arr.shape[0], -1)


def _check_same_shape(true, est, what):
    if true.shape == est.shape:
        return
    hint = ""
    if est.T.shape == true.shape or (
        est.ndim == 2 and true.ndim == 2 and est.shape[0] == true.shape[1]
    ):
        hint = (
            " It looks transposed: pass est.T (e.g. learning_results.loadings.T)"
            " so that the component index comes first."
        )
    raise ValueError(
        f"{what}: true has shape {true.shape} but estimate has shape "
        f"{est.shape}; they must match.{hint}"
    )


def spectral_angle(a, b, degrees=False):
    """Spectral angle distance between two spectra, or row-wise.

    Parameters
    ----------
    a, b : array-like or HyperSpy signal
        Vectors of the same length ``B``, or arrays whose last axis is the
        spectral axis (broadcast against each other): one angle per row.
    degrees : bool
        Return degrees instead of radians.

    Returns
    -------
    float or numpy.ndarray
        Angle in ``[0, pi]`` (``nan`` where a vector is all zero).
    """
    a, b = _data(a), _data(b)
    if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"spectral_angle needs vectors of equal length along the last axis; "
            f"got shapes {a.shape} and {b.shape}."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = a / np.linalg.norm(a, axis=-1, keepdims=True)
        ub = b / np.linalg.norm(b, axis=-1, keepdims=True)
    # 2 atan2(|ua - ub|, |ua + ub|) equals arccos(ua . ub) but stays accurate
    # for tiny angles, where arccos of a rounded cosine near 1 loses half the
    # digits (a scaled copy gives ~1e-16 rather than ~1e-8).
    angle = 2.0 * np.arctan2(
        np.linalg.norm(ua - ub, axis=-1), np.linalg.norm(ua + ub, axis=-1)
    )
    if degrees:
        angle = np.degrees(angle)
    return float(angle) if np.ndim(angle) == 0 else angle


def sad_matrix(true, est, degrees=False):
    """Spectral angles between every true and every estimated spectrum.

    Parameters
    ----------
    true : array-like or HyperSpy signal, shape (R_true, B)
    est : array-like or HyperSpy signal, shape (R_est, B)
    degrees : bool
        Return degrees instead of radians.

    Returns
    -------
    numpy.ndarray
        Shape ``(R_true, R_est)``; entry ``[i, j]`` is SAD(true[i], est[j]).
    """
    t = _endmembers(true, "true endmembers")
    e = _endmembers(est, "estimated endmembers")
    if t.shape[1] != e.shape[1]:
        raise ValueError(
            f"true endmembers have {t.shape[1]} channels but the estimates have "
            f"{e.shape[1]}: compare spectra on the same energy axis."
        )
    return spectral_angle(t[:, None, :], e[None, :, :], degrees=degrees)


def match_components(true_endmembers, est_endmembers):
    """Order estimated components to match the true ones (minimum total SAD).

    Parameters
    ----------
    true_endmembers : array-like or HyperSpy signal, shape (R_true, B)
    est_endmembers : array-like or HyperSpy signal, shape (R_est, B)
        ``R_est >= R_true``; surplus estimates are left out.

    Returns
    -------
    numpy.ndarray of int
        ``perm`` of length ``R_true`` such that ``est[perm][i]`` is the
        estimate assigned to ``true[i]``.
    """
    t = _endmembers(true_endmembers, "true endmembers")
    e = _endmembers(est_endmembers, "estimated endmembers")
    if e.shape[0] < t.shape[0]:
        raise ValueError(
            f"only {e.shape[0]} estimated components for {t.shape[0]} true ones: "
            "unmix with at least as many components as the ground truth has."
        )
    cost = sad_matrix(t, e)
    # An all-zero spectrum has no angle; make it the worst possible match.
    cost = np.nan_to_num(cost, nan=np.pi)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)].astype(int)


def nmse(true_abundances, est_abundances):
    """Normalised mean squared error of each abundance map.

    Parameters
    ----------
    true_abundances, est_abundances : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``, same shape, already
        in matching component order.

    Returns
    -------
    numpy.ndarray
        ``|Z_r - Z_hat_r|_F**2 / |Z_r|_F**2`` for each component ``r``
        (``inf`` or ``nan`` where a true map is identically zero).
    """
    t = _abundances(true_abundances, "true abundances")
    e = _abundances(est_abundances, "estimated abundances")
    _check_same_shape(t, e, "nmse")
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((t - e) ** 2).sum(axis=1) / (t**2).sum(axis=1)


def abundance_rmse(true, est):
    """Root-mean-square error over all abundance entries.

    Parameters
    ----------
    true, est : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``, same shape, already
        in matching component order.

    Returns
    -------
    float
    """
    t = _abundances(true, "true abundances")
    e = _abundances(est, "estimated abundances")
    _check_same_shape(t, e, "abundance_rmse")
    return float(np.sqrt(np.mean((t - e) ** 2)))


@dataclass(frozen=True, eq=False)
class UnmixingScores:
    """Scores of one unmixing result against the ground truth.

    Also readable like a dict (``scores["mean_sad_deg"]``); :meth:`as_dict`
    gives a plain dict.

    Attributes
    ----------
    permutation : numpy.ndarray of int
        ``est[permutation]`` is aligned with the true components.
    sad : numpy.ndarray
        Spectral angle of each matched component (radians).
    sad_deg : numpy.ndarray
        The same in degrees.
    mean_sad_deg : float
        Mean of ``sad_deg``.
    nmse : numpy.ndarray
        NMSE of each matched abundance map.
    mean_nmse : float
        Mean of ``nmse``.
    abundance_rmse : float
        RMSE over all matched abundance entries.
    """

    permutation: np.ndarray
    sad: np.ndarray
    sad_deg: np.ndarray
    mean_sad_deg: float
    nmse: np.ndarray
    mean_nmse: float
    abundance_rmse: float

    def __getitem__(self, key):
        return getattr(self, key)

    def as_dict(self):
        """The scores as a plain ``dict``."""
        return asdict(self)


def unmixing_scores(true_endmembers, true_abundances, est_endmembers, est_abundances):
    """Match components on SAD, then score endmembers and abundances.

    Parameters
    ----------
    true_endmembers : array-like or HyperSpy signal, shape (R, B)
    true_abundances : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``.
    est_endmembers : array-like or HyperSpy signal, shape (R_est, B)
        ``R_est >= R``.
    est_abundances : array-like or HyperSpy signal
        Shape ``(R_est, n_pixels)`` or ``(R_est, height, width)``, in the same
        component order as ``est_endmembers``.

    Returns
    -------
    UnmixingScores
    """
    t_e = _endmembers(true_endmembers, "true endmembers")
    e_e = _endmembers(est_endmembers, "estimated endmembers")
    t_a = _abundances(true_abundances, "true abundances")
    e_a = _abundances(est_abundances, "estimated abundances")
    if t_a.shape[0] != t_e.shape[0]:
        raise ValueError(
            f"true abundances have {t_a.shape[0]} components but true endmembers "
            f"have {t_e.shape[0]}: pass matching ground truth."
        )
    if e_a.shape[0] != e_e.shape[0]:
        hint = ""
        if e_a.shape[1] == e_e.shape[0]:
            hint = " Pass the abundances transposed (components first)."
        raise ValueError(
            f"estimated abundances have {e_a.shape[0]} components but estimated "
            f"endmembers have {e_e.shape[0]}; they must correspond.{hint}"
        )
    perm = match_components(t_e, e_e)
    sad = np.atleast_1d(spectral_angle(t_e, e_e[perm]))
    e_a = e_a[perm]
    _check_same_shape(t_a, e_a, "unmixing_scores abundances")
    per_map = nmse(t_a, e_a)
    sad_deg = np.degrees(sad)
    return UnmixingScores(
        permutation=perm,
        sad=sad,
        sad_deg=sad_deg,
        mean_sad_deg=float(np.mean(sad_deg)),
        nmse=per_map,
        mean_nmse=float(np.mean(per_map)),
        abundance_rmse=abundance_rmse(t_a, e_a),
    )


# --------------------------------------------------------------------------
# Spectrum measurements for denoising (Pate et al. 2021): edge onset, pre-peak
# height, mean squared error. Spectra are arrays ``(..., channels)`` or
# HyperSpy signals (then the energy axis is taken from the signal).
# --------------------------------------------------------------------------


def _spectra_and_axis(spectra, energy_axis, name):
    """``(data, energy)`` of spectra given as an array or a HyperSpy signal."""
    if energy_axis is None:
        if not hasattr(spectra, "axes_manager"):
            raise ValueError(
                f"{name}: give energy_axis (the energy of each channel, eV) when "
                "spectra is an array rather than a HyperSpy signal."
            )
        energy_axis = spectra.axes_manager.signal_axes[0].axis
    elif hasattr(energy_axis, "axis"):  # a HyperSpy DataAxis
        energy_axis = energy_axis.axis
    data = _data(spectra)
    energy = np.asarray(energy_axis, dtype=float)
    if data.ndim == 0 or energy.ndim != 1 or energy.size != data.shape[-1]:
        raise ValueError(
            f"{name}: energy_axis has {energy.size} values but the spectra have "
            f"shape {data.shape}; give one energy per channel (last axis)."
        )
    if energy.size < 2 or np.any(np.diff(energy) <= 0):
        raise ValueError(f"{name}: energy_axis must be strictly increasing.")
    return data, energy


def _range_mask(energy, window, name, what, minimum=1):
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: {what} must be a pair (low, high) in eV; got {window!r}."
        ) from None
    mask = (energy >= lo) & (energy <= hi)
    if lo >= hi or np.count_nonzero(mask) < minimum:
        raise ValueError(
            f"{name}: {what} {window!r} must be increasing and hold at least "
            f"{minimum} channel(s) of the energy axis ({energy[0]:g}-"
            f"{energy[-1]:g} eV)."
        )
    return mask


def power_law_background(spectra, energy_axis=None, background_range=None):
    """Power-law background ``A E**-r`` fitted over a pre-edge window.

    The two-area method (as in HyperSpy's ``PowerLaw.estimate_parameters``,
    used by ``remove_background(fast=True)``): the window's channels are split
    into two halves of equal count, whose sums ``I1`` and ``I2`` give ``r``
    (HyperSpy's closed form, refined by a few Newton steps on the exact ratio
    of the integrals so that a pure power law is recovered exactly) and
    ``A``; the background of each channel is the integral of ``A E**-r`` over
    it (channels hold counts, not densities). Sums, not logarithms of single
    channels, make it usable on low-count spectra; sums that are zero or
    negative are clipped to a tiny positive value (the fit then degrades
    gracefully instead of failing).

    Parameters
    ----------
    spectra : array-like ``(..., channels)`` or HyperSpy signal
    energy_axis : array-like or None
        Channel energies (eV); taken from the signal when ``None``.
    background_range : tuple of float
        Pre-edge window ``(low, high)`` in eV (at least 4 channels).

    Returns
    -------
    numpy.ndarray
        The background evaluated on every channel, same shape as the data.
    """
    data, energy = _spectra_and_axis(spectra, energy_axis, "power_law_background")
    mask = _range_mask(
        energy, background_range, "power_law_background", "background_range", 4
    )
    idx = np.flatnonzero(mask)
    half = idx.size // 2
    first, second = idx[:half], idx[half : 2 * half]
    # Channel boundaries (midpoints between centres) of the two halves.
    bounds = np.concatenate(
        ([1.5 * energy[0] - 0.5 * energy[1]], 0.5 * (energy[1:] + energy[:-1]))
    )
    bounds = np.append(bounds, 1.5 * energy[-1] - 0.5 * energy[-2])
    x1, x2 = bounds[first[0]], bounds[first[-1] + 1]
    x3, x4 = bounds[second[0]], bounds[second[-1] + 1]
    if x1 <= 0:
        raise ValueError("power_law_background needs positive energies.")
    # Counts are integrals of the density A E**-r over each channel, so the
    # sums over each half are the integrals over [x1, x2] and [x3, x4].
    tiny = 1e-12
    i1 = np.clip(data[..., first].sum(-1), tiny, None)
    i2 = np.clip(data[..., second].sum(-1), tiny, None)
    target = np.log(i1 / i2)

    def log_ratio(k):
        # log of the ratio of the two integrals of E**-r (k = 1 - r).
        return np.log((x2**k - x1**k) / (x4**k - x3**k))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # HyperSpy's closed-form two-area estimate, then Newton steps on the
        # exact ratio of integrals so that a pure power law is recovered.
        r = 2.0 * np.log(i1 / i2 * (x4 - x3) / (x2 - x1)) / np.log(x4 * x3 / (x2 * x1))
        k = np.clip(np.nan_to_num(1.0 - r, nan=-2.0), -20.0, 20.0)
        h = 1e-5
        for _ in range(4):
            k = np.where(np.abs(k) < 1e-6, 1e-6, k)
            f = log_ratio(k) - target
            df = (log_ratio(k + h) - log_ratio(k - h)) / (2.0 * h)
            k = np.clip(k - np.nan_to_num(f / df), -20.0, 20.0)
        k = np.where(np.abs(k) < 1e-6, 1e-6, k)
        a1 = k * i1 / (x2**k - x1**k)
        a2 = k * i2 / (x4**k - x3**k)
        amp = (a1 * i1 + a2 * i2) / (i1 + i2)
        # Integral of amp * E**-r over each channel.
        bg = amp[..., None] * (bounds[1:] ** k[..., None] - bounds[:-1] ** k[..., None])
        bg = bg / k[..., None]
    return np.nan_to_num(bg, nan=0.0, posinf=0.0, neginf=0.0)


def edge_onset(
    spectra,
    energy_axis=None,
    background_range=None,
    fraction=0.5,
    search_range=None,
    smooth=0.5,
):
    """Energy (eV) of the leading edge of the main edge peak, per spectrum.

    Definition, for each spectrum:

    1. if ``background_range`` is given, subtract the power-law background
       fitted there (:func:`power_law_background`);
    2. smooth with a Gaussian of ``smooth`` eV standard deviation (0: none);
    3. in ``search_range``, take the maximum ``M`` (the main near-edge peak)
       and the minimum ``m`` of the channels before it (the pre-edge level or
       the dip between a pre-peak and the edge);
    4. walking down from the maximum, find the last crossing of the level
       ``m + fraction * (M - m)`` and interpolate linearly between the two
       channels around it.

    Step 4 looks back from the main peak, so a pre-peak that stays below the
    level, or is separated from the edge by a dip below it, does not move the
    result: the measured onset follows the main edge. It is therefore a
    *position* marker, offset from the physical threshold by a constant for a
    given edge shape (for :func:`eels_ae.data.lowdose_spectrum_image`
    +6.61 eV with the defaults, half-way up the main edge, the same within
    0.01 eV at every pixel whatever its drift, state or thickness); compare
    onsets between pixels, or between a denoised and a clean spectrum, rather
    than with the threshold.

    The maximum is taken over all of ``search_range``, so the range must end
    before any structure that rises above the main peak, such as the
    plural-scattering hump ~20-30 eV above the edge in thick regions (use
    ``LowDoseSI.edge_search_range``).

    Parameters
    ----------
    spectra : array-like ``(..., channels)`` or HyperSpy signal
    energy_axis : array-like or None
        Channel energies (eV), increasing; taken from the signal when ``None``.
    background_range : tuple of float, optional
        Pre-edge window (eV) for the power-law fit; ``None`` uses the
        spectra as they are (e.g. already background-free).
    fraction : float
        Level between the minimum and the maximum, in ``(0, 1)``.
    search_range : tuple of float, optional
        Window (eV) holding the edge and its main peak; default from the end
        of ``background_range`` (or the first channel) to the last channel.
    smooth : float
        Gaussian smoothing width (eV, standard deviation) applied first.

    Returns
    -------
    numpy.ndarray
        Onset energies, shape ``spectra.shape[:-1]`` (navigation shape for a
        signal); ``nan`` where no crossing exists (maximum at the window start).
    """
    from scipy.ndimage import gaussian_filter1d

    data, energy = _spectra_and_axis(spectra, energy_axis, "edge_onset")
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"edge_onset: fraction must be in (0, 1); got {fraction}.")
    if background_range is not None:
        data = data - power_law_background(data, energy, background_range)
    if smooth and smooth > 0:
        sigma = float(smooth) / float(np.median(np.diff(energy)))
        data = gaussian_filter1d(data, sigma, axis=-1, mode="nearest")
    if search_range is None:
        start = energy[0] if background_range is None else float(background_range[1])
        search_range = (start, energy[-1])
    inr = _range_mask(energy, search_range, "edge_onset", "search_range", 3)
    idx = np.arange(energy.size)
    imax = np.argmax(np.where(inr, data, -np.inf), axis=-1)[..., None]
    peak = np.take_along_axis(data, imax, axis=-1)[..., 0]
    before = inr & (idx < imax)
    # Where the maximum is the first channel of the window there is no
    # "before": the level is then the peak itself and no crossing is found.
    base = np.min(np.where(before, data, np.inf), axis=-1)
    base = np.where(before.any(axis=-1), base, peak)
    level = base + float(fraction) * (peak - base)
    below = before & (data <= level[..., None])
    k = np.max(np.where(below, idx, -1), axis=-1)
    valid = k >= 0
    kc = np.clip(k, 0, energy.size - 2)[..., None]
    s0 = np.take_along_axis(data, kc, axis=-1)[..., 0]
    s1 = np.take_along_axis(data, kc + 1, axis=-1)[..., 0]
    e0, e1 = energy[kc[..., 0]], energy[kc[..., 0] + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((level - s0) / (s1 - s0), 0.0, 1.0)
    onset = e0 + frac * (e1 - e0)
    return np.where(valid, onset, np.nan)


def prepeak_height(spectra, energy_axis=None, window=None, background_range=None):
    """Height of a pre-peak: the maximum inside an energy window.

    Definition: the maximum, over the channels whose energies lie inside
    ``window``, of the spectrum after subtracting the power-law background
    fitted over ``background_range`` (when given). No other baseline is
    removed (the background fit is the baseline) and no smoothing is applied,
    so the result is in the spectrum's own units (counts per channel) and is
    meant for clean or denoised spectra (on raw noisy data it is biased up by
    the noise). ``LowDoseSI.prepeak_height`` is this function applied to
    ``LowDoseSI.clean_edge`` with ``window=LowDoseSI.prepeak_window``.

    Parameters
    ----------
    spectra : array-like ``(..., channels)`` or HyperSpy signal
    energy_axis : array-like or None
        Channel energies (eV); taken from the signal when ``None``.
    window : tuple of float
        ``(low, high)`` in eV, holding the pre-peak and not the main edge.
    background_range : tuple of float, optional
        Pre-edge window (eV) for the power-law fit; ``None`` for spectra that
        are already background-free.

    Returns
    -------
    numpy.ndarray
        Shape ``spectra.shape[:-1]``.
    """
    data, energy = _spectra_and_axis(spectra, energy_axis, "prepeak_height")
    if window is None:
        raise ValueError("prepeak_height: give the pre-peak window (low, high) in eV.")
    mask = _range_mask(energy, window, "prepeak_height", "window")
    if background_range is not None:
        data = data - power_law_background(data, energy, background_range)
    return data[..., mask].max(axis=-1)


def mse(a, b, per_spectrum=False):
    """Mean squared error between two sets of spectra.

    Parameters
    ----------
    a, b : array-like or HyperSpy signal
        Same shape (or broadcastable), spectral axis last.
    per_spectrum : bool
        ``True``: one value per spectrum (mean over the last axis), shape
        ``a.shape[:-1]``; ``False``: a single float over everything.

    Returns
    -------
    float or numpy.ndarray
    """
    a, b = _data(a), _data(b)
    try:
        sq = (a - b) ** 2
    except ValueError:
        raise ValueError(f"mse: shapes {a.shape} and {b.shape} do not match.") from None
    if per_spectrum:
        return sq.mean(axis=-1)
    return float(sq.mean())


def circular_correlation(a, b):
    """Fisher-Lee circular correlation of two sets of angles (radians).

    ``sum_{i<j} sin(a_i - a_j) sin(b_i - b_j)`` normalised to [-1, 1]: 1 when
    ``b = a + c`` for a constant ``c`` (an encoded angle whose zero is
    arbitrary), -1 when ``b = c - a``, near 0 when ``b`` only follows ``a``
    modulo pi on angles spread over the full circle. Unlike correlations
    centred on the circular means, it stays defined for uniformly spread
    angles, whose mean direction is noise.

    Parameters
    ----------
    a, b : array-like, shape (n,)

    Returns
    -------
    float
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(
            f"circular_correlation needs two sets of >= 2 angles of the same size, "
            f"got {a.size} and {b.size}."
        )
    # sin(x - y) = sin x cos y - cos x sin y: sums over pairs without n x n.
    sa, ca, sb, cb = np.sin(a), np.cos(a), np.sin(b), np.cos(b)
    cross = (sa * sb).sum() * (ca * cb).sum() - (sa * cb).sum() * (ca * sb).sum()
    norm_a = (sa**2).sum() * (ca**2).sum() - (sa * ca).sum() ** 2
    norm_b = (sb**2).sum() * (cb**2).sum() - (sb * cb).sum() ** 2
    return float(cross / np.sqrt(norm_a * norm_b))


def latent_r2(z, truth):
    """How well two latent variables explain a known factor: quadratic R^2.

    ``truth`` is regressed on ``z1, z2, z1^2, z2^2, z1 z2`` and a constant
    by least squares (a latent space may bend a factor a little; the
    quadratic terms allow for that, not for a random scatter).

    Parameters
    ----------
    z : array-like, shape (n, k)
        Latent means; the first two columns are used (one if ``k == 1``).
    truth : array-like, shape (n,)
        The known factor at the same samples.

    Returns
    -------
    float
        1 for a perfect fit, ~0 when the latents do not follow ``truth``.
    """
    z = np.asarray(z, dtype=float)
    z = z.reshape(len(z), -1)[:, :2]
    truth = np.asarray(truth, dtype=float).ravel()
    if len(z) != len(truth):
        raise ValueError(f"z has {len(z)} rows but truth has {len(truth)} values.")
    cross = [z[:, :1] * z[:, 1:2]] if z.shape[1] == 2 else []
    A = np.column_stack([z, z**2, *cross, np.ones(len(z))])
    coef, *_ = np.linalg.lstsq(A, truth, rcond=None)
    return float(1 - (truth - A @ coef).var() / truth.var())
