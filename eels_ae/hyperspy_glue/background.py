"""Power-law background removal by HyperSpy (exspy's fast estimate), on
arrays and on signals before unmixing."""

from __future__ import annotations

import numpy as np

__all__ = [
    "remove_power_law",
    "signal_without_background",
    "warn_far_extrapolation",
]

#: Distance above the window, in window widths, beyond which the extrapolated
#: power law is not trusted without a warning (measured on the STO/LSMO image:
#: a 370-450 eV window extrapolated to La M at 832 eV, 5x its width, left an
#: error of the size of the La M signal; ``benchmarks/unmixing_options.py``).
FAR_EXTRAPOLATION = 3.0


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


def signal_without_background(signal, background_range):
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

    Returns
    -------
    work : Signal1D
        The background-free signal (lazy if ``signal`` is).
    left_out : ndarray of bool
        Channels at or below the window's end (HyperSpy's ``signal_mask``
        convention: True = left out).
    parameters : dict
        ``"A"`` and ``"r"``: the power law's parameters per pixel (navigation
        shape, array order).
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
        if work._lazy:
            import dask.array as da

            work.data = da.nan_to_num(work.data)
        else:
            np.nan_to_num(work.data, copy=False)
    left_out = energy <= float(background_range[1])
    return work, left_out, parameters


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
        warn(
            f"the power law fitted over {lo:g}-{hi:g} eV is extrapolated "
            f"{distance:.0f} eV above the window ({distance / (hi - lo):.1f}x its "
            "width): its error grows with the distance and can exceed weak edges "
            "far from the window (on the bundled STO/LSMO image, a 370-450 eV "
            "window left La M with its layer no longer found). For one edge, "
            "put the window just before it and restrict the range with "
            "signal_mask; to unmix several edges, unmixing without "
            "background_range kept every algorithm's result there."
        )
