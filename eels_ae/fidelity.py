"""Does a denoised spectrum image stay within the noise of the input?

A denoiser may only remove noise. Whatever it removes, ``raw - denoised``,
must therefore look like noise: zero mean on every stretch of the energy
axis, with the variance the counts allow. :func:`denoising_fidelity` measures
that per pixel, per block of pixels and over the whole image against a noise
model fitted to the data themselves, so it needs no ground truth;
:meth:`FidelityReport.summary` says where the output changed the data beyond
the noise (an invented or lost edge, a collapsed spectrum, a pedestal), and
:meth:`eels_ae.DenoisingAE.denoise` turns that into a warning.

Array-only: the HyperSpy layer and the estimators call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FidelityReport", "denoising_fidelity", "fit_noise_model"]

#: Pure noise reaches a windowed |z| of about 4 somewhere in a spectrum of a
#: few thousand channels; 6 leaves a margin for an imperfect noise model
#: (measured: PCA-10 reconstructions of the bundled real spectrum image and
#: Poisson synthetic images stay below it at every pixel).
Z_LIMIT = 6.0

#: Side of the blocks of pixels checked together (see ``region_z``).
BLOCK = 4


def _block_ids(shape, b):
    """Block number of every pixel (C order), or None for a single spectrum."""
    if len(shape) == 2 and shape[0] > 1:
        rows, cols = np.indices(shape)
        return ((rows // b) * (-(-shape[1] // b)) + cols // b).ravel()
    n = int(np.prod(shape))
    if n < 2:
        return None
    return np.arange(n) // (b * b)


@dataclass
class FidelityReport:
    """Per-pixel fidelity of a denoised spectrum image.

    Attributes
    ----------
    z_max : ndarray, shape navigation
        Largest ``|z|`` of the residual ``raw - denoised`` summed over
        ``window`` channels, in units of its expected noise. Pure noise stays
        below about 5 (4.9 on 48 x 96 x 240 Poisson counts); above
        :data:`Z_LIMIT` the output differs from the input by more than the
        noise allows somewhere in the spectrum.
    region_z : ndarray, shape navigation
        The same for the residual summed over the block of ``BLOCK x BLOCK``
        pixels (``BLOCK**2`` along a line scan) that holds the pixel: a
        change that varies slowly across the image (an edge shift following a
        drift, erased by the denoiser) hides in the noise of each pixel but
        not in a block.
    z_energy : ndarray, shape navigation
        Channel (or energy, when an axis is given) where ``z_max`` is reached.
    chi2 : ndarray, shape navigation
        Mean ``residual**2 / variance`` over the spectrum: about 1 when only
        noise was removed, well above 1 when the output left the data.
    gain, offset : float
        Noise model ``variance = gain * counts + offset`` fitted to the raw
        data (gain 1, offset 0 for ideal Poisson counts).
    mean_z_max, mean_z_energy : float
        The same as ``z_max`` for the residual summed over all pixels: a small
        change made to every pixel (a pedestal, a shifted edge) hides in the
        noise of each pixel but not in the sum.
    window : int
        Channels summed for ``z_max``.
    """

    z_max: np.ndarray
    region_z: np.ndarray
    z_energy: np.ndarray
    chi2: np.ndarray
    gain: float
    offset: float
    mean_z_max: float
    mean_z_energy: float
    window: int

    @property
    def unfaithful(self):
        """Boolean map of the pixels with ``z_max`` or ``region_z`` above
        :data:`Z_LIMIT` (see also ``mean_z_max``, for all pixels together)."""
        return (self.z_max > Z_LIMIT) | (self.region_z > Z_LIMIT)

    def summary(self, where=None, units="channel"):
        """One sentence naming the worst pixels, or ``None`` when all are fine."""
        bad = self.unfaithful
        n_bad = int(bad.sum())
        overall = None
        if self.mean_z_max > Z_LIMIT:
            overall = (
                "summed over all spectra, the denoised output differs from the "
                f"input by more than the noise allows at {self.mean_z_energy:.6g} "
                f"{units} (z = {self.mean_z_max:.0f})"
            )
        if n_bad == 0:
            return overall
        flat = np.maximum(self.z_max, self.region_z).ravel()
        worst = np.argsort(flat)[::-1][: min(3, n_bad)]
        name = where or (lambda i: f"spectrum {i}")
        places = ", ".join(
            f"{name(int(i))} at {self.z_energy.ravel()[i]:.6g} {units} "
            f"(z = {flat[i]:.0f})"
            for i in worst
        )
        return (
            f"the denoised output differs from the input by more than the noise "
            f"allows in {n_bad} of {bad.size} spectra ({n_bad / bad.size:.0%}); "
            f"worst: {places}" + (f"; {overall}" if overall else "")
        )


def fit_noise_model(spectra, reference, window=1, lag=None):
    """Fit ``variance = gain * counts + offset`` from the raw data alone.

    The second difference ``S[i-lag] - 2 S[i] + S[i+lag]`` of the sums ``S``
    of ``window`` channels cancels any signal that is locally straight and
    keeps the noise, with variance ``6 * var(S)`` when the windows do not
    overlap and the noise of channels ``lag`` apart is independent (detectors
    blur the noise over a channel or two, hence ``lag >= 3``). Its median
    square in bins of the smooth ``reference`` intensity gives the variance at
    each intensity, robustly against the few places where the signal bends
    sharply (edges).

    Parameters
    ----------
    spectra : ndarray, shape (n, channels)
        Raw data, or better the raw data minus a smooth estimate of the
        signal (what :func:`denoising_fidelity` passes): then the sharp
        features of the spectra (edges, near-edge peaks a few channels wide)
        do not add to the second differences.
    reference : ndarray, shape (n, channels)
        A smooth estimate of the signal (the denoised output): the
        intensity at which each variance is measured.
    window : int, default 1
        Channels summed (the variance returned is that of such sums).
    lag : int, optional
        Distance of the differences; default ``max(window, 3)``.

    Returns
    -------
    gain, offset : float
        Variance of a ``window``-channel sum of mean level ``c`` per channel
        is ``gain * c + offset``.
    """
    w = int(window)
    lag = max(w, 3) if lag is None else int(lag)
    x = _window_sums(np.asarray(spectra, dtype=np.float64), w)
    ref = _window_sums(np.asarray(reference, dtype=np.float64), w) / w
    if x.shape[1] <= 2 * lag:
        raise ValueError(
            f"spectra of {x.shape[1] + w - 1} channels are too short for a noise "
            f"estimate over {w}-channel windows."
        )
    d2 = x[:, : -2 * lag] - 2.0 * x[:, lag:-lag] + x[:, 2 * lag :]
    level = ref[:, lag:-lag].ravel()
    # Median of a chi-square(1) variable is 0.455 of its mean.
    var = d2.ravel() ** 2 / 6.0 / 0.4549
    edges = np.unique(np.quantile(level, np.linspace(0, 1, 21)))
    if len(edges) < 3:
        return 0.0, float(np.median(var))
    which = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, len(edges) - 2)
    centres, medians, counts = [], [], []
    for b in range(len(edges) - 1):
        sel = which == b
        if sel.sum() < 20:
            continue
        centres.append(np.median(level[sel]))
        medians.append(np.median(var[sel]))
        counts.append(sel.sum())
    c, m = np.array(centres), np.array(medians)
    if len(c) < 2:
        return 0.0, float(np.median(var))
    gain, offset = np.polyfit(c, m, 1)
    if gain < 0:  # noise that does not grow with counts: constant variance
        return 0.0, float(np.average(m, weights=counts))
    # Never below the smallest variance seen (the line may cross zero).
    return float(gain), float(max(offset, 0.5 * m.min() - gain * c.min(), 0.0))


def _window_sums(x, w):
    """Sums of ``w`` consecutive channels, ``(n, channels - w + 1)``."""
    if w == 1:
        return x
    c = np.cumsum(x, axis=1)
    c = np.concatenate([np.zeros((len(x), 1)), c], axis=1)
    return c[:, w:] - c[:, :-w]


def denoising_fidelity(raw, denoised, window=16, energy=None):
    """Per-pixel check that ``denoised`` stays within the noise of ``raw``.

    Parameters
    ----------
    raw, denoised : ndarray, shape (..., channels)
        The input and the output of a denoiser, same shape.
    window : int, default 16
        Channels summed before comparing with the noise: a systematic change
        (an edge added or removed, a shifted edge, a pedestal) adds up over
        the window while the noise only grows as its square root.
    energy : ndarray, shape (channels,), optional
        Energy axis, to report where ``z_max`` is reached.

    Returns
    -------
    FidelityReport
    """
    raw = np.asarray(raw, dtype=np.float64)
    den = np.asarray(denoised, dtype=np.float64)
    shape, n_channels = raw.shape[:-1], raw.shape[-1]
    x, y = raw.reshape(-1, n_channels), den.reshape(-1, n_channels)
    w = int(max(1, min(window, n_channels // 4)))
    level = np.clip(y, 0.0, None)
    gain1, offset1 = fit_noise_model(x - y, y)
    chi2 = np.mean((x - y) ** 2 / np.maximum(gain1 * level + offset1, 1e-12), axis=1)
    # Windowed sums of the residual against the noise of such sums.
    gain, offset = fit_noise_model(x - y, y, window=w)
    r_sum = _window_sums(x - y, w)
    v_sum = np.maximum(gain * _window_sums(level, w) / w + offset, 1e-12)
    z = np.abs(r_sum) / np.sqrt(v_sum)
    at = np.argmax(z, axis=1)
    channel = at + w // 2
    where = channel if energy is None else np.asarray(energy)[channel]
    # Blocks of neighbouring pixels: a change that varies slowly across the
    # image (an edge shift that follows a drift) can hide in each pixel's
    # noise but adds up over a block.
    block = _block_ids(shape, BLOCK)
    region_z = np.zeros(len(z))
    if block is not None:
        order = np.argsort(block, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(block[order]) != 0])
        rb = np.add.reduceat(r_sum[order], starts, axis=0)
        vb = np.add.reduceat(v_sum[order], starts, axis=0)
        zb = (np.abs(rb) / np.sqrt(vb)).max(axis=1)
        region_z[order] = np.repeat(zb, np.diff(np.r_[starts, len(order)]))
    # All pixels together: residual sums against the summed variances.
    z_all = np.abs(r_sum.sum(axis=0)) / np.sqrt(v_sum.sum(axis=0))
    at_all = int(np.argmax(z_all))
    e_all = at_all + w // 2 if energy is None else np.asarray(energy)[at_all + w // 2]
    return FidelityReport(
        z_max=z[np.arange(len(z)), at].reshape(shape),
        region_z=region_z.reshape(shape),
        z_energy=np.asarray(where, dtype=np.float64).reshape(shape),
        chi2=chi2.reshape(shape),
        gain=gain1,
        offset=offset1,
        mean_z_max=float(z_all[at_all]),
        mean_z_energy=float(e_all),
        window=w,
    )
