"""Every use of HyperSpy's private API, in one place (checked on HyperSpy 2.5)."""

from __future__ import annotations

__all__ = [
    "copy_with_new_data",
    "decomposition_classes",
    "show_progressbar_preference",
    "navigation_shape_in_array",
    "poisson_scaled",
    "spectrum_image_array",
    "unfolded_spectra",
]


def navigation_shape_in_array(signal):
    """Navigation shape in array (C) order."""
    return signal.axes_manager._navigation_shape_in_array


def unfolded_spectra(signal):
    """The data as ``(n_navigation, n_signal)`` spectra (numpy or dask), no copy
    where HyperSpy's layout allows it."""
    am = signal.axes_manager
    X = signal._data_aligned_with_axes.reshape(
        navigation_shape_in_array(signal) + (am.signal_size,)
    )
    return X.reshape((am.navigation_size, am.signal_size))


def spectrum_image_array(signal):
    """The data as a cube ``(rows, columns, channels)`` (a line scan is one row)."""
    X = unfolded_spectra(signal)
    shape = navigation_shape_in_array(signal)
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape[-2:]
    if len(shape) > 2:
        raise ValueError(
            "a spatial algorithm needs 1 or 2 navigation dimensions, got "
            f"{len(shape)}: index the extra axes first."
        )
    return X.reshape(rows, cols, X.shape[-1])


def copy_with_new_data(signal, data):
    """A signal like ``signal`` (class, axes, metadata) around ``data``."""
    return signal._deepcopy_with_new_data(data)


def is_lazy(signal) -> bool:
    """Whether ``signal`` is a lazy (dask-backed) HyperSpy signal."""
    return bool(getattr(signal, "_lazy", False))


def decomposition_classes():
    """``(class, lazy)`` of HyperSpy's two ``decomposition`` methods."""
    from hyperspy._signals.lazy import LazySignal
    from hyperspy.learn._mva import MVA

    return ((MVA, False), (LazySignal, True))


def show_progressbar_preference() -> bool:
    """``hs.preferences.General.show_progressbar``."""
    from hyperspy.defaults_parser import preferences

    return bool(preferences.General.show_progressbar)


def poisson_scaled(X):
    """HyperSpy's Poisson scaling (Keenan & Kotula) of spectra ``(n,
    channels)``, numpy or dask: ``X / (sqrt(aG) sqrt(bH))`` with ``aG`` the
    counts of each spectrum and ``bH`` those of each channel. Returns the
    scaled spectra (lazy for dask) and the two roots as numpy arrays, which
    turn results back: factors times ``sqrt(bH)``, loadings times
    ``sqrt(aG)``, as ``decomposition(normalize_poissonian_noise=True)``."""
    import numpy as np
    from hyperspy.learn._mva import _keenan_kotula_scale

    scaled, root_ag, root_bh = _keenan_kotula_scale(X, None, None, ndim=1, sdim=1)
    as_numpy = lambda a: np.asarray(getattr(a, "compute", lambda: a)()).ravel()  # noqa: E731
    return scaled, as_numpy(root_ag), as_numpy(root_bh)
