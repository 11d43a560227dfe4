"""Power-law background removal by HyperSpy (exspy's fast estimate), on arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["remove_power_law"]


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
