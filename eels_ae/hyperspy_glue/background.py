"""Power-law background removal by HyperSpy (exspy's fast estimate), on
arrays and on signals before unmixing."""

from __future__ import annotations

import numpy as np

from .compat import is_lazy

__all__ = [
    "channels_left_out",
    "keep_background",
    "pooled_exponent",
    "remove_power_law",
    "signal_without_background",
    "warn_far_extrapolation",
]

#: Distance above the window, in window widths, beyond which the extrapolated
#: power law is not trusted without a warning (measured on the STO/LSMO image:
#: a 370-450 eV window extrapolated to La M at 832 eV, 5x its width, left an
#: error of the size of the La M signal; ``benchmarks/unmixing_options.py``).
FAR_EXTRAPOLATION = 3.0

#: Gaussian width (pixels) over which the power law's exponent is pooled by
#: default before unmixing (``background_pooling``). Measured on the
#: thickness line scans of ``benchmarks/thickness.py``: the per-pixel
#: exponent's noise, extrapolated 150 eV above the window, was of the size of
#: the weaker edge; pooled, the first metal's share error fell by 1.5-2.5x.
BACKGROUND_POOLING = 4.0


def remove_power_law(band, energy, background_range):
    """Subtract a power-law background fitted over ``background_range``.

    Uses HyperSpy's ``remove_background`` (the fast estimate that exspy and
    HyperSpy share) on a temporary signal built around ``band``. The
    :class:`~eels_ae.DenoisingAE` calls it when ``background_range`` is set:
    eels_ae does not refit backgrounds itself.

    Parameters
    ----------
    band : ndarray, shape (..., n_channels)
    energy : dict or None
        ``offset`` and ``scale`` of the energy axis; ``None`` means channel
        indices. ``binned`` (default True: counts per channel, as EELS data
        are) matters: HyperSpy's fast power-law estimate differs for binned
        and unbinned data, and on a real core-loss image the unbinned
        estimate left a pedestal of the height of the edge.
    background_range : (float, float)
        Pre-edge window, in the units of the energy axis.
    """
    import hyperspy.api as hs

    s = hs.signals.Signal1D(np.array(band, dtype=np.float32))  # a copy: clipped below
    axis = s.axes_manager.signal_axes[0]
    if energy is not None:
        axis.offset, axis.scale = energy["offset"], energy["scale"]
    axis.is_binned = bool((energy or {}).get("binned", True))
    # A power law needs positive counts in the fit window: clip at a tiny value
    # so that a pixel with no counts there gives no background instead of NaN.
    lo, hi = (
        axis.value2index(background_range[0]),
        axis.value2index(background_range[1]),
    )
    window = s.data[..., lo : hi + 1]
    np.maximum(window, 1e-6, out=window)
    out = s.remove_background(
        signal_range=tuple(background_range),
        background_type="Power law",
        fast=True,
        show_progressbar=False,
        display=False,
    )
    return np.nan_to_num(np.asarray(out.data, dtype=np.float32), copy=False)


def pooled_exponent(r, weight, sigma=BACKGROUND_POOLING, contrast=3.0):
    """The power law's exponent pooled over neighbouring pixels.

    A weighted Gaussian average over the navigation grid that keeps true
    steps: each neighbour counts by its distance (Gaussian of ``sigma``
    pixels), its weight (the counts of its fit window: the exponent's
    variance falls as their inverse) and how close its exponent is to the
    pixel's own on the scale of the noise (``contrast`` x the noise that
    neighbouring pixels' differences show, a robust estimate), so that an
    interface between materials of different background slopes is not
    blurred.

    Parameters
    ----------
    r, weight : ndarray, navigation shape
        Per-pixel exponents and weights (NaN or zero weight: a pixel whose
        fit failed, which takes no part).
    sigma : float
        Gaussian width in pixels; 0 returns ``r`` unchanged.
    contrast : float
        How many noise widths apart two exponents may be and still pool.

    Returns
    -------
    ndarray
        Same shape as ``r``.
    """
    import itertools

    r = np.asarray(r, dtype=float)
    ok = np.isfinite(r) & np.isfinite(weight) & (np.asarray(weight) > 0)
    if sigma <= 0 or ok.sum() < 3:
        return r.copy()
    w = np.where(ok, weight, 0.0)
    values = np.where(ok, r, 0.0)
    diffs = [
        np.abs(np.diff(r, axis=k))[np.diff(ok.astype(int), axis=k) == 0]
        for k in range(r.ndim)
        if r.shape[k] > 1
    ]
    diffs = np.concatenate([d[np.isfinite(d)] for d in diffs]) if diffs else []
    # The median absolute difference of neighbours, as a standard deviation
    # of one pixel's exponent (differences of two: sqrt(2); MAD: 1.4826).
    noise = 1.4826 * float(np.median(diffs)) / np.sqrt(2.0) if len(diffs) else 0.0
    if not noise > 0:
        return r.copy()
    radius = int(np.ceil(2.0 * sigma))
    pad = [(radius, radius)] * r.ndim
    padded_r = np.pad(values, pad)
    padded_w = np.pad(w, pad)
    num = np.zeros_like(values)
    den = np.zeros_like(values)
    for offset in itertools.product(range(-radius, radius + 1), repeat=r.ndim):
        spatial = np.exp(-0.5 * sum(o * o for o in offset) / sigma**2)
        if spatial < 1e-3:
            continue
        window = tuple(
            slice(radius + o, radius + o + n)
            for o, n in zip(offset, r.shape, strict=True)
        )
        rq, wq = padded_r[window], padded_w[window]
        similar = np.exp(-0.5 * ((rq - values) / (contrast * noise)) ** 2)
        weight_q = spatial * wq * similar
        num += weight_q * rq
        den += weight_q
    return np.where(ok & (den > 0), num / np.where(den > 0, den, 1.0), r)


def _window_sums(e_win, r, pixels=16384):
    """``sum(e_win ** -r)`` for each pixel's exponent (NaN stays NaN), a
    block of pixels at a time (one array, not a Python loop per pixel)."""
    flat = np.ravel(r)
    out = np.empty(flat.size)
    log_e = np.log(e_win)[None, :]
    for start in range(0, flat.size, pixels):
        part = flat[start : start + pixels, None]
        out[start : start + pixels] = np.exp(-part * log_e).sum(axis=1)
    return out.reshape(np.shape(r))


def _pooled_background(source, energy, window, parameters, sigma):
    """Refit each pixel's power law with its exponent pooled
    (:func:`pooled_exponent`), keeping the counts its fit puts in the window,
    and subtract it from the data (lazily for a lazy signal).

    Returns the background-free data and the new ``A`` and ``r`` maps."""
    A, r = parameters["A"], parameters["r"]
    e_win = energy[window]
    old = _window_sums(e_win, r)
    weight = A * old  # the counts of the fitted curve in the window
    r_new = pooled_exponent(r, weight, sigma)
    A_new = A * old / _window_sums(e_win, r_new)
    axis = source.axes_manager.signal_axes[0]
    # HyperSpy's power law on binned data is A * scale * E**-r per channel.
    factor = float(axis.scale) if axis.is_binned else 1.0
    amplitude = np.nan_to_num(A_new * factor)[..., None]
    exponent = np.nan_to_num(r_new)[..., None]
    data = source.data
    if is_lazy(source):
        import dask.array as da

        chunks = data.chunks[:-1] + ((1,),)
        amplitude = da.from_array(amplitude, chunks=chunks)
        exponent = da.from_array(exponent, chunks=chunks)
    background = amplitude * np.asarray(energy, dtype=np.float64) ** -exponent
    return (data - background).astype(np.float32), {"A": A_new, "r": r_new}


def channels_left_out(energy, background_range):
    """The channels a background removal leaves out of the unmixing: those
    at or below the end of its pre-edge window (True = left out)."""
    return np.asarray(energy) <= float(background_range[1])


def signal_without_background(signal, background_range, pooling=BACKGROUND_POOLING):
    """A background-free copy of ``signal`` and the fitted background.

    HyperSpy's ``remove_background`` (power law, fast estimate; eager or lazy)
    fitted over the pre-edge window ``background_range`` of every pixel. The
    channels up to the window's end are left out of the unmixing (they hold
    noise around zero, or an extrapolation below the window).

    Parameters
    ----------
    signal : hyperspy.signals.Signal1D
        Not modified (integer counts are converted on a copy).
    background_range : (float, float)
        Pre-edge window in the units of the energy axis.
    pooling : float
        Gaussian width (pixels) over which the exponent ``r`` is pooled
        between neighbours of similar ``r`` (:func:`pooled_exponent`); 0
        keeps HyperSpy's per-pixel fit.

    Returns
    -------
    work : Signal1D
        The background-free signal (lazy if ``signal`` is).
    left_out : ndarray of bool
        Channels at or below the window's end (HyperSpy's ``signal_mask``
        convention: True = left out).
    parameters : dict
        ``"A"`` and ``"r"``: the power law's parameters per pixel (navigation
        shape, array order); ``"pooling"``: the pooling used.
    """
    from ..metrics import _range_mask
    from .compat import copy_with_new_data

    axis = signal.axes_manager.signal_axes[0]
    energy = np.asarray(axis.axis, dtype=float)
    window = _range_mask(
        energy, background_range, "decomposition", "background_range", 4
    )
    if energy[window][0] <= 0:
        raise ValueError(
            "decomposition: background_range must lie at positive energies (a "
            f"power law); got {background_range!r}."
        )
    if not (np.diff(energy) > 0).all():
        raise ValueError(
            "decomposition: background_range needs an increasing energy axis."
        )
    source = signal
    if signal.data.dtype.kind in "iub":
        source = copy_with_new_data(signal, signal.data.astype(np.float32))
    work, model = source.remove_background(
        signal_range=tuple(float(v) for v in background_range),
        background_type="Power law",
        fast=True,
        return_model=True,
        show_progressbar=False,
        display=False,
    )
    component = model[0]
    parameters = {
        "A": np.asarray(component.A.map["values"], dtype=float),
        "r": np.asarray(component.r.map["values"], dtype=float),
    }
    failed = ~(np.isfinite(parameters["A"]) & np.isfinite(parameters["r"]))
    if failed.any():
        # No counts in the window: no background to fit. Such pixels would
        # stop the unmixing with NaN the user's data do not have.
        from ..validation import warn

        warn(
            f"the power-law background could not be fitted in {int(failed.sum())} "
            f"pixel(s) (no counts in background_range {tuple(background_range)}): "
            "their background is taken as zero."
        )
        if is_lazy(work):
            import dask.array as da

            work.data = da.nan_to_num(work.data)
        else:
            np.nan_to_num(work.data, copy=False)
    if pooling and signal.axes_manager.navigation_size > 1:
        work.data, parameters = _pooled_background(
            source, energy, window, parameters, float(pooling)
        )
    parameters["pooling"] = float(pooling)
    return work, channels_left_out(energy, background_range), parameters


def warn_far_extrapolation(energy, background_range, unmixed):
    """Warn when the power law is extrapolated far above its window.

    Parameters
    ----------
    energy : ndarray
        The energy axis.
    background_range : (float, float)
    unmixed : ndarray of bool
        The channels that are unmixed.
    """
    from ..validation import warn

    lo, hi = (float(v) for v in background_range)
    if not unmixed.any():
        return
    distance = float(np.asarray(energy)[unmixed].max()) - hi
    if distance > FAR_EXTRAPOLATION * (hi - lo):
        # Short: it fires on every such call. The guide has the measurements
        # (a 370-450 eV window on the bundled STO/LSMO image lost La M's layer
        # with a per-pixel fit, kept it pooled).
        warn(
            f"the power law fitted over {lo:g}-{hi:g} eV is extrapolated "
            f"{distance:.0f} eV above it ({distance / (hi - lo):.1f}x its width): "
            "check the endmembers far from the window, or put the window just "
            "before the edge and restrict the range with signal_mask."
        )


def keep_background(signal, parameters, background_range):
    """``s.learning_results.background``: the power law removed before
    unmixing (``background_range``), as maps of its ``A`` and ``r`` on the
    calibrated navigation grid (a stack of two ``Signal2D`` maps), with the
    window in its metadata; removed when no background was removed."""
    from .adapters import _navigation_maps

    signal.learning_results.__dict__.pop("background", None)
    if parameters is None:
        return
    signal.learning_results.background = _navigation_maps(
        signal,
        np.stack([parameters["A"].ravel(), parameters["r"].ravel()]),
        "power-law background A * E**-r removed before unmixing (A, r)",
        stack_axis="parameter",
        metadata={
            "Signal.background_range": tuple(float(v) for v in background_range),
            "Signal.background_type": "Power law (HyperSpy remove_background, fast)",
            "Signal.background_pooling": float(parameters.get("pooling", 0.0)),
            "Signal.parameters": ("A", "r"),
        },
    )
