"""Spectrum images in and out: arrays, and signals through the HyperSpy layer.

The estimators that look at a pixel's surroundings see their data as a cube
``(rows, columns, channels)``; the others as spectra ``(pixels, channels)``.
:func:`as_spectrum_image` makes the cube from an array, with the axis
information given explicitly (``energy_axis``, ``navigation_shape``), and
remembers the input's shape so that results go back in the same shape.

No HyperSpy here. The HyperSpy layer registers an adapter
(:func:`register_signal_adapter`) that turns a signal into a
:class:`SpectrumImage` whose results are signals again (same axes and
metadata), so the estimators accept signals without importing HyperSpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .streaming import is_dask_array
from .validation import as_2d_array, check_not_empty, check_numeric, pixel_namer

__all__ = [
    "SpectrumImage",
    "as_spectra",
    "as_spectrum_image",
    "check_energy_axis",
    "check_energy_units",
    "energy_axes_match",
    "register_signal_adapter",
]


@dataclass
class SpectrumImage:
    """A cube ``(rows, columns, channels)`` and what to give results back as.

    Attributes
    ----------
    cube : numpy or dask array
        ``(rows, columns, channels)``; a line scan is one row.
    shape : tuple
        Shape of the input (results of arrays are reshaped to it).
    energy : dict or None
        ``offset``, ``scale``, ``size``, ``units``, ``name`` of the energy axis.
    title : str or None
        Title of the input signal, if any.
    wrap : callable or None
        ``wrap(cube, title, metadata)``: a cube as the input's kind of object (set by
        the HyperSpy layer for signals).
    make_maps : callable or None
        ``make_maps(data, title, stack_axis, metadata)``: images on the
        navigation grid as the input's kind of object.
    """

    cube: object
    shape: tuple = ()
    energy: dict | None = None
    title: str | None = None
    wrap: Callable | None = None
    make_maps: Callable | None = None

    @property
    def lazy(self) -> bool:
        return is_dask_array(self.cube)

    @property
    def n_channels(self) -> int:
        return int(self.cube.shape[-1])

    @property
    def energy_values(self):
        """Energy of every channel (axis units); channel indices without an
        energy axis."""
        e = self.energy or {"offset": 0.0, "scale": 1.0}
        return e["offset"] + e["scale"] * np.arange(self.n_channels)

    @property
    def is_signal(self) -> bool:
        """True when the input was a signal (results are signals)."""
        return self.wrap is not None

    @property
    def navigation_shape(self) -> tuple:
        """``(rows, columns)``, or ``(columns,)`` for a line scan."""
        rows, cols = self.cube.shape[:2]
        return (cols,) if rows == 1 else (rows, cols)

    @property
    def where(self):
        """Row of :meth:`spectra` -> pixel name (:func:`pixel_namer`)."""
        return pixel_namer(self.navigation_shape)

    def spectra(self):
        """The cube as spectra ``(pixels, channels)`` (C order)."""
        return self.cube.reshape(-1, self.n_channels)

    def like_input(self, cube, title=None, metadata=None):
        """``cube`` (same rows, columns; any channels) as the input's kind of object.

        ``metadata`` items (``{"Denoising.fidelity": ...}``) are set on a
        signal and ignored for an array.
        """
        if self.wrap is not None:
            return self.wrap(cube, title, metadata)
        return cube.reshape(self.shape[:-1] + (cube.shape[-1],))

    def maps(self, data, title, stack_axis=None, metadata=None):
        """Images on the navigation grid: ``(rows, columns)`` or ``(k, rows, columns)``.

        For a signal input, a ``Signal2D`` with the navigation axes'
        calibration (``stack_axis`` names the first axis of a stack of maps,
        ``metadata`` items are set on it); else the array, shaped like the
        input's navigation grid.
        """
        if self.make_maps is not None:
            return self.make_maps(data, title, stack_axis, metadata)
        data = np.asarray(data)
        lead = data.shape[:1] if stack_axis else ()
        return data.reshape(lead + self.shape[:-1])


#: Functions ``adapter(X, name) -> SpectrumImage or None`` (the HyperSpy layer's).
_SIGNAL_ADAPTERS: list = []


def register_signal_adapter(adapter):
    """Let :func:`as_spectrum_image` accept other objects (HyperSpy signals).

    ``adapter(X, name)`` returns a :class:`SpectrumImage` for the objects it
    knows and ``None`` for the others.
    """
    if adapter not in _SIGNAL_ADAPTERS:
        _SIGNAL_ADAPTERS.append(adapter)


def as_spectrum_image(
    X, name="this method", *, energy_axis=None, navigation_shape=None
):
    """Turn an array (or, through an adapter, a signal) into a :class:`SpectrumImage`.

    Parameters
    ----------
    X : array or signal
        ``(rows, columns, channels)`` or ``(pixels, channels)`` (numpy or
        dask); a HyperSpy signal once the HyperSpy layer is installed.
    name : str
        The entry point, for messages.
    energy_axis : dict, optional
        The energy axis of an array (``offset``, ``scale``, ``size``,
        ``units``, ``name``). A signal's own axis is used for a signal.
    navigation_shape : tuple of int, optional
        ``(rows, columns)`` of spectra given as ``(pixels, channels)``.
    """
    for adapter in _SIGNAL_ADAPTERS:
        si = adapter(X, name)
        if si is not None:
            return si
    X = check_numeric(X, name)
    shape = tuple(X.shape)
    if X.ndim == 2 and navigation_shape is not None:
        nav = tuple(int(n) for n in navigation_shape)
        if len(nav) not in (1, 2) or int(np.prod(nav)) != X.shape[0]:
            raise ValueError(
                f"{name}: navigation_shape={navigation_shape!r} does not hold the "
                f"{X.shape[0]} spectra of X: give (rows, columns) with rows * "
                "columns equal to the number of spectra."
            )
        X = X.reshape(nav + X.shape[-1:])
    if X.ndim == 3:
        cube = X
    elif X.ndim == 2:
        cube = X[None]
    else:
        raise ValueError(
            f"{name} expects a spectrum image (rows, columns, channels) or spectra "
            f"(pixels, channels), got an array of shape {X.shape}. Reshape your "
            "data, e.g. X.reshape(1, -1) for a single spectrum."
        )
    check_not_empty((cube.shape[0] * cube.shape[1], cube.shape[2]), name)
    return SpectrumImage(cube=cube, shape=shape, energy=energy_axis)


def as_spectra(X, name, *, energy_axis=None, navigation_shape=None):
    """Spectra ``(n, channels)``, their energy axis, and a namer of rows.

    A 2-D array without ``navigation_shape`` names its rows (``"row 17"``);
    an image or a signal names pixels (``"pixel (x=3, y=2)"``).
    """
    if (
        navigation_shape is None
        and (is_dask_array(X) or isinstance(X, np.ndarray) or isinstance(X, list))
        and np.ndim(X) == 2
    ):
        return as_2d_array(X, name), energy_axis, pixel_namer(None)
    si = as_spectrum_image(
        X, name, energy_axis=energy_axis, navigation_shape=navigation_shape
    )
    return si.spectra(), si.energy, si.where


def energy_axes_match(got, trained):
    """Same scale (to 1e-6) and offset (to half a channel) as the training axis."""
    scale = abs(trained["scale"])
    return (
        abs(got["scale"] - trained["scale"]) <= 1e-6 * scale
        and abs(got["offset"] - trained["offset"]) <= 0.5 * scale
    )


def check_energy_units(got, trained):
    """Raise if two energy axes are in different units (eV and keV, say):
    the same numbers would then be 1000x apart, and a match of offset and
    scale would apply the model to the wrong energies."""
    units = [str((e or {}).get("units") or "").strip() for e in (got, trained)]
    known = [u for u in units if u and u != "<undefined>"]
    if len(known) == 2 and known[0] != known[1]:
        raise ValueError(
            f"this signal's energy axis is in {units[0]} but the model was trained "
            f"on one in {units[1]}: convert it first, e.g. "
            f"s.axes_manager.signal_axes[0].convert_to_units({units[1]!r})."
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
    check_energy_units(got, trained)
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
