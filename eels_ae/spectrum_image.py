"""Spectrum images in and out: HyperSpy signals, numpy and dask arrays.

The estimators that look at a pixel's surroundings see their data as a cube
``(rows, columns, channels)``. :func:`as_spectrum_image` makes that cube from
a HyperSpy signal (eager or lazy) or an array and remembers where it came
from, so that results go back as the same kind of object: a signal with the
same axes and metadata, or an array of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .streaming import is_dask_array

__all__ = [
    "SpectrumImage",
    "as_spectrum_image",
    "check_energy_axis",
    "remove_power_law",
]


@dataclass
class SpectrumImage:
    """A cube ``(rows, columns, channels)`` and where it came from."""

    cube: object
    signal: object = None
    shape: tuple = ()
    energy: dict | None = None

    @property
    def lazy(self) -> bool:
        return is_dask_array(self.cube)

    @property
    def n_channels(self) -> int:
        return int(self.cube.shape[-1])

    def like_input(self, cube, title=None):
        """``cube`` (same rows, columns; any channels) as the input's kind of object."""
        if self.signal is None:
            return cube.reshape(self.shape[:-1] + (cube.shape[-1],))
        data = cube.reshape(self.signal.data.shape[:-1] + (cube.shape[-1],))
        out = self.signal._deepcopy_with_new_data(data)
        if title is not None:
            out.metadata.General.title = title
        return out

    def maps(self, data, title, stack_axis=None):
        """Images on the navigation grid: ``(rows, columns)`` or ``(k, rows, columns)``.

        With a signal input, a :class:`hyperspy.signals.Signal2D` with the
        navigation axes' calibration; ``stack_axis`` names the first axis of
        a stack of maps (it becomes the navigation axis). Else the array,
        shaped like the input's navigation grid.
        """
        data = np.asarray(data)
        if self.signal is None:
            lead = data.shape[:1] if stack_axis else ()
            return data.reshape(lead + self.shape[:-1])
        import hyperspy.api as hs

        nav = self.signal.axes_manager.navigation_axes  # (x, y) order
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
            axes = [
                {"name": stack_axis, "size": data.shape[0], "navigate": True}
            ] + axes
        out = hs.signals.Signal2D(data, axes=axes)
        out.metadata.General.title = title
        return out


def as_spectrum_image(X, name="this method"):
    """Turn a signal or an array into a :class:`SpectrumImage`.

    Accepted: HyperSpy signals with one signal dimension and one or two
    navigation dimensions (eager or lazy); arrays ``(rows, columns, channels)``
    or ``(pixels, channels)`` (numpy or dask).
    """
    from hyperspy.signal import BaseSignal

    if isinstance(X, BaseSignal):
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
        energy = energy_axis_dict(axis)
        data = X.data
        cube = data if data.ndim == 3 else data[None]
        return SpectrumImage(
            cube=cube, signal=X, shape=tuple(data.shape), energy=energy
        )
    if not is_dask_array(X):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"{name} needs numeric data, got dtype {X.dtype}.")
    if X.ndim == 3:
        cube = X
    elif X.ndim == 2:
        cube = X[None]
    else:
        raise ValueError(
            f"{name} expects a spectrum image (rows, columns, channels) or spectra "
            f"(pixels, channels), got an array of shape {X.shape}."
        )
    return SpectrumImage(cube=cube, signal=None, shape=tuple(X.shape), energy=None)


def energy_axis_dict(axis):
    """A uniform HyperSpy axis as the dict models and model files keep."""
    return {
        "offset": float(axis.offset),
        "scale": float(axis.scale),
        "size": int(axis.size),
        "units": str(axis.units),
        "name": str(axis.name),
    }


def energy_axes_match(got, trained):
    """Same scale (to 1e-6) and offset (to half a channel) as the training axis."""
    scale = abs(trained["scale"])
    return (
        abs(got["scale"] - trained["scale"]) <= 1e-6 * scale
        and abs(got["offset"] - trained["offset"]) <= 0.5 * scale
    )


def check_energy_axis(got, trained):
    """Raise if an energy axis differs from the one a model was trained on.

    Parameters
    ----------
    got, trained : dict or None
        ``offset``, ``scale`` and ``units`` (as in
        :attr:`SpectrumImage.energy`); ``None`` (arrays) is not checked.
    """
    if got is None or trained is None:
        return
    if not energy_axes_match(got, trained):
        raise ValueError(
            "the energy axis does not match the training one: offset "
            f"{got['offset']:g} vs {trained['offset']:g}, scale {got['scale']:g} vs "
            f"{trained['scale']:g} {trained['units']} (difference: offset "
            f"{got['offset'] - trained['offset']:+g}, scale "
            f"{got['scale'] - trained['scale']:+g}). Align the spectra (e.g. "
            "s.align_zero_loss_peak, or crop/interpolate to the training axis), "
            "or let eels_ae.apply_model(s, model, energy_axis='resample') "
            "interpolate them onto the model's axis."
        )


def remove_power_law(band, energy, background_range):
    """Subtract a power-law background fitted over ``background_range``.

    Uses HyperSpy's ``remove_background`` (the fast estimate of exspy and
    HyperSpy) on a temporary signal built around ``band``.

    Parameters
    ----------
    band : ndarray, shape (..., n_channels)
    energy : dict or None
        ``offset`` and ``scale`` of the energy axis; ``None`` means channel
        indices.
    background_range : (float, float)
        Pre-edge window, in the units of the energy axis.
    """
    import hyperspy.api as hs

    s = hs.signals.Signal1D(np.array(band, dtype=np.float32))  # a copy: clipped below
    axis = s.axes_manager.signal_axes[0]
    if energy is not None:
        axis.offset, axis.scale = energy["offset"], energy["scale"]
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
