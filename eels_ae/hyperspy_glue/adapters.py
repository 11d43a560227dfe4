"""Signals in and out: a HyperSpy signal as a
:class:`~eels_ae.spectrum_image.SpectrumImage`.

:func:`signal_to_spectrum_image` is registered with
:func:`eels_ae.spectrum_image.register_signal_adapter` when eels_ae is
imported, so every estimator accepts a signal (eager or lazy) and gives its
results back as signals with the input's axes and metadata, while the
estimators themselves never import HyperSpy.
"""

from __future__ import annotations

import functools

import numpy as np

from ..spectrum_image import SpectrumImage
from .compat import copy_with_new_data

__all__ = ["energy_axis_dict", "signal_to_spectrum_image"]


def energy_axis_dict(axis):
    """A uniform HyperSpy axis as the dict models and model files keep."""
    return {
        "offset": float(axis.offset),
        "scale": float(axis.scale),
        "size": int(axis.size),
        "units": str(axis.units),
        "name": str(axis.name),
        "binned": bool(axis.is_binned),
    }


def signal_to_spectrum_image(X, name="this method"):
    """A :class:`SpectrumImage` of a signal with 1 signal and 1-2 navigation
    dimensions; ``None`` for anything that is not a HyperSpy signal."""
    from hyperspy.signal import BaseSignal

    if not isinstance(X, BaseSignal):
        return None
    am = X.axes_manager
    if am.signal_dimension != 1:
        raise ValueError(
            f"{name} works on spectra (signal dimension 1), but this signal has "
            f"signal dimension {am.signal_dimension}: use an EELSSpectrum or a "
            "Signal1D (for example s.transpose(signal_axes=1))."
        )
    if am.navigation_dimension not in (1, 2):
        raise ValueError(
            f"{name} needs a line scan or a spectrum image (1 or 2 navigation "
            f"dimensions), got {am.navigation_dimension}: "
            + (
                "a single spectrum has no neighbours to learn from."
                if am.navigation_dimension == 0
                else "index or reshape the extra navigation axes first."
            )
        )
    axis = am.signal_axes[0]
    if not axis.is_uniform:
        raise ValueError(f"{name} needs a uniform energy axis.")
    data = X.data
    cube = data if data.ndim == 3 else data[None]
    return SpectrumImage(
        cube=cube,
        shape=tuple(data.shape),
        energy=energy_axis_dict(axis),
        title=str(X.metadata.General.title),
        wrap=functools.partial(_like_signal, X),
        make_maps=functools.partial(_navigation_maps, X),
    )


def _like_signal(signal, cube, title=None, metadata=None):
    data = cube.reshape(signal.data.shape[:-1] + (cube.shape[-1],))
    out = copy_with_new_data(signal, data)
    if title is not None:
        out.metadata.General.title = title
    for key, value in (metadata or {}).items():
        out.metadata.set_item(key, value)
    return out


def _navigation_maps(signal, data, title, stack_axis=None, metadata=None):
    """``Signal2D`` of maps on ``signal``'s navigation grid (calibrated)."""
    import hyperspy.api as hs

    data = np.asarray(data)
    nav = signal.axes_manager.navigation_axes  # (x, y) order
    axes = [a.get_axis_dictionary() for a in nav[::-1]]  # array order
    for a in axes:
        a["navigate"] = False
    nav_shape = tuple(a["size"] for a in axes)
    if len(axes) == 1:
        # A line scan: one row of pixels, shown as a 1 x N image.
        axes = [{"name": "row", "size": 1, "navigate": False}] + axes
        nav_shape = (1,) + nav_shape
    lead = data.shape[:1] if stack_axis else ()
    data = data.reshape(lead + nav_shape)
    if stack_axis:
        axes = [{"name": stack_axis, "size": data.shape[0], "navigate": True}] + axes
    out = hs.signals.Signal2D(data, axes=axes)
    out.metadata.General.title = title
    for key, value in (metadata or {}).items():
        out.metadata.set_item(key, value)
    return out
