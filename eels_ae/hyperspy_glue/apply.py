"""Apply a trained model to a new acquisition, and keep models in saved signals.

``eels_ae.apply_model(s, model)`` (also ``s.apply_model(model)``) puts the
result of a trained estimator on a new signal where a fresh fit's would go:
unmixing models fill ``s.learning_results`` (the model's endmembers as
factors), the others return their result signals. The energy axis is checked
against the model's: a mismatch raises, or with ``energy_axis="resample"`` the
signal is interpolated onto the model's axis (with a warning).

``s.save("x.hspy")`` after an eels_ae decomposition stores the model inside
the file as model-file bytes (safetensors + JSON, never a pickle) and the
algorithm as its name; ``eels_ae.load_model(hs.load("x.hspy"))`` gets it back.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..model_files import ModelFileError, load_model, model_to_bytes
from ..spectrum_image import check_energy_units, energy_axes_match
from ..validation import NonFiniteDataError, pixel_namer
from .adapters import energy_axis_dict
from .compat import navigation_shape_in_array
from .params import RUNTIME_OPTIONS, runtime_options, split_runtime

__all__ = ["apply_model", "install_save_hook", "signal_energy_axis"]

_WRAPPED = "__eels_ae_original__"


def signal_energy_axis(signal):
    """The signal axis as the dict model files keep (``None`` if not uniform)."""
    am = signal.axes_manager
    if am.signal_dimension != 1:
        return None
    axis = am.signal_axes[0]
    return energy_axis_dict(axis) if axis.is_uniform else None


def _axes_match(got, trained):
    same_size = got["size"] == trained.get("size", got["size"])
    return same_size and energy_axes_match(got, trained)


def _on_model_axis(signal, model, energy_axis):
    """``signal`` itself, or a copy interpolated onto the model's energy axis."""
    if energy_axis not in ("strict", "resample"):
        raise ValueError(
            f"energy_axis={energy_axis!r} is not known: use 'strict' (raise on a "
            "different axis) or 'resample' (interpolate onto the model's axis)."
        )
    trained = getattr(model, "energy_axis_", None)
    got = signal_energy_axis(signal)
    if trained is not None and got is not None:
        check_energy_units(got, trained)
    if trained is None or got is None or _axes_match(got, trained):
        return signal
    last = lambda e: e["offset"] + e["scale"] * (e["size"] - 1)  # noqa: E731
    if energy_axis == "strict":
        raise ValueError(
            "the energy axis of this signal differs from the model's: offset "
            f"{got['offset']:g} vs {trained['offset']:g} "
            f"({got['offset'] - trained['offset']:+g}), scale {got['scale']:g} vs "
            f"{trained['scale']:g} ({got['scale'] - trained['scale']:+g}), "
            f"{got['size']} vs {trained['size']} channels ({trained['units']}). "
            "Pass energy_axis='resample' to interpolate the signal onto the "
            "model's axis, or calibrate/crop it to match."
        )
    lo, hi = sorted((trained["offset"], last(trained)))
    g_lo, g_hi = sorted((got["offset"], last(got)))
    if lo < g_lo - 1e-9 * abs(got["scale"]) or hi > g_hi + 1e-9 * abs(got["scale"]):
        raise ValueError(
            f"the model's energy axis ({lo:g} to {hi:g} {trained['units']}) is not "
            f"inside this signal's ({g_lo:g} to {g_hi:g}): it cannot be resampled "
            "without extrapolating. Acquire or crop to cover the model's range."
        )
    from hyperspy.axes import UniformDataAxis

    new_axis = UniformDataAxis(
        offset=trained["offset"],
        scale=trained["scale"],
        size=trained["size"],
        units=trained["units"],
        name=trained.get("name", "Energy loss"),
    )
    warnings.warn(
        f"the signal was interpolated (linearly) from its energy axis (offset "
        f"{got['offset']:g}, scale {got['scale']:g}, {got['size']} channels) onto "
        f"the model's (offset {trained['offset']:g}, scale {trained['scale']:g}, "
        f"{trained['size']} channels) before applying the model.",
        UserWarning,
        stacklevel=4,
    )
    axis_index = signal.axes_manager.signal_axes[0].index_in_axes_manager
    return signal.interpolate_on_axis(new_axis, axis_index, inplace=False)


def apply_model(signal, model, energy_axis="strict", **kwargs):
    """Apply a trained eels_ae model to a new acquisition.

    Parameters
    ----------
    signal : hyperspy signal
        Eager or lazy (applied chunk by chunk).
    model : eels_ae estimator, path or bytes
        A fitted estimator, or a model file (:func:`eels_ae.load_model`).
    energy_axis : {"strict", "resample"}, default "strict"
        What to do when the signal's energy axis differs from the model's:
        raise (with the differences), or interpolate a copy of the signal
        onto the model's axis (with a warning). Never misaligned silently.
    **kwargs
        ``show_progressbar`` and ``device`` (options of the call: the model
        keeps its own progress-bar setting; ``device`` moves it there), and
        for a representation model the keywords of its method's input
        (``channels`` of :meth:`s.rvae <eels_ae.hyperspy_glue.rvae>`). Any
        other keyword raises ``TypeError``.

    Returns
    -------
    None, signal or result
        Unmixing (DAEU, VCA): ``None``; the results are in
        ``signal.learning_results`` as after ``s.decomposition`` (factors =
        the model's endmembers, loadings = abundances of this signal), so
        every HyperSpy tool works on them. Denoising: the denoised signal.
        VAE, rVAE: their result objects. LatentClassifier: the class map.

    Notes
    -----
    The signal is never modified. A call that fails leaves
    ``learning_results`` as they were.
    """
    from sklearn.utils.validation import check_is_fitted

    from .. import registry

    if not hasattr(model, "get_params"):
        model = load_model(model)
    try:
        check_is_fitted(model)
    except Exception:  # noqa: BLE001 - NotFittedError
        raise ValueError(
            f"this {type(model).__name__} is not fitted: train it first (or load "
            "a model file)."
        ) from None
    entry = registry.for_estimator(model)
    if entry.kind in ("unmixing", "classifier"):
        # Their application has no options but the call's own (a misspelt
        # keyword is never ignored).
        runtime = split_runtime(kwargs)
        if kwargs:
            raise TypeError(
                f"apply_model got unexpected keyword argument(s) "
                f"{', '.join(sorted(kwargs))}: a {type(model).__name__} is applied "
                f"as it is; the call takes only {' and '.join(RUNTIME_OPTIONS)}."
            )
    # A classifier works on its denoiser's energy axis.
    on_axis = model.denoiser if entry.kind == "classifier" else model
    work = _on_model_axis(signal, on_axis, energy_axis)
    if entry.kind == "unmixing":
        try:
            with runtime_options(model, runtime):
                _apply_unmixing(signal, work, model)
        except NonFiniteDataError as err:
            # The rows of the signal's spectra, named as its pixels.
            where = pixel_namer(navigation_shape_in_array(signal))
            raise NonFiniteDataError(err.summary, where, err.unit) from None
        return None
    if entry.kind == "classifier":
        return model.predict(work)
    # The signal method of the entry, with the model: the same results as a fit.
    return getattr(work, entry.method)(model=model, **kwargs)


def _apply_unmixing(signal, work, model):
    from hyperspy.learn import LearningResults

    from .background import keep_background, signal_without_background
    from .compat import unfolded_spectra

    # What the training call did to its spectra, done to these: the
    # power law removed over the same window, the same channels unmixed.
    prep = getattr(model, "preprocessing_", None) or {}
    source, background = work, None
    window = prep.get("background_range")
    if window is not None:
        source, _, background = signal_without_background(
            work, window, prep.get("background_pooling") or 0.0
        )
    channels = prep.get("channels")
    channels = None if channels is None else np.asarray(channels, dtype=bool)
    shifts = None
    if hasattr(model, "aligned_abundances"):
        # Drift-aware: it smooths the shift map over the image, and the
        # shifts are a result (``learning_results.energy_shift``).
        data = _image_if_any(source)
        loadings, scale, shifts = model.aligned_abundances(
            data if channels is None else data[..., channels]
        )
    else:
        X = unfolded_spectra(source)
        loadings, scale = _unmixing_loadings(
            model, X if channels is None else X[:, channels]
        )
    factors = np.array(model.components_.T)
    if channels is not None:
        # HyperSpy's convention for channels left out: NaN in the factors.
        full = np.full((channels.size, factors.shape[1]), np.nan)
        full[channels] = factors
        factors = full
    target = LearningResults()
    target.factors = _factors_on_signal_axis(signal, work, factors)
    target.loadings = loadings
    target.decomposition_algorithm = model
    target.output_dimension = int(model.components_.shape[0])
    target.poissonian_noise_normalized = False
    target.centre = None
    target.mean = None
    # Only now, with everything computed: a failure above changes nothing.
    signal.learning_results.__dict__.update(target.__dict__)
    keep_energy_shift(signal, shifts)
    keep_intensity_scale(signal, scale if getattr(model, "_per_pixel", False) else None)
    keep_background(signal, background, window)


def keep_intensity_scale(signal, scale):
    """``s.learning_results.intensity_scale``: the per-pixel scale beside the
    sum-to-one loadings (navigation shape, array order); removed when
    ``scale`` is None (one intensity for every pixel)."""
    nav = navigation_shape_in_array(signal)
    if scale is not None and np.size(scale) == int(np.prod(nav)):
        signal.learning_results.intensity_scale = np.asarray(scale).reshape(nav)
    else:
        signal.learning_results.__dict__.pop("intensity_scale", None)


def keep_energy_shift(signal, shift):
    """``s.learning_results.energy_shift``: the per-pixel energy shift map
    ``shift`` (channels) of a drift-aware unmixing, in the energy axis'
    units, on the calibrated navigation grid (a ``Signal2D``); removed when
    ``shift`` is None (another algorithm)."""
    from .adapters import _navigation_maps

    nav = navigation_shape_in_array(signal)
    if shift is None or np.size(shift) != int(np.prod(nav)):
        signal.learning_results.__dict__.pop("energy_shift", None)
        return
    axis = signal.axes_manager.signal_axes[0]
    units = axis.units if isinstance(axis.units, str) else ""
    signal.learning_results.energy_shift = _navigation_maps(
        signal,
        np.asarray(shift) * float(axis.scale),
        f"energy shift ({units})" if units else "energy shift",
    )


def _image_if_any(signal):
    """The spectra as an image ``(rows, columns, channels)`` when the
    navigation space is one or two dimensional, else ``(n, channels)``."""
    from .compat import spectrum_image_array, unfolded_spectra

    if signal.axes_manager.navigation_dimension > 2:
        return unfolded_spectra(signal)
    return spectrum_image_array(signal)


def _factors_on_signal_axis(signal, work, factors):
    """The model's endmembers (``factors``, on the model's axis) as factors
    of ``signal``: on a signal that was resampled onto the model's axis,
    interpolated back onto its own axis and NaN outside the model's range
    (HyperSpy's convention for channels left out), so that HyperSpy's tools
    see factors of the signal's size."""
    if work is signal:
        return factors
    own = signal.axes_manager.signal_axes[0].axis
    trained = work.axes_manager.signal_axes[0].axis
    out = np.full((own.size, factors.shape[1]), np.nan, dtype=factors.dtype)
    inside = (own >= trained.min()) & (own <= trained.max())
    for k in range(factors.shape[1]):
        out[inside, k] = np.interp(own[inside], trained, factors[:, k])
    return out


def _unmixing_loadings(model, X):
    """Abundances and intensity scale of every spectrum. Lazy data are
    mapped over the dask chunks (the model travels as weights: it runs on a
    ``dask.distributed`` cluster when one is the active scheduler)."""
    from ..distributed import map_model_blocks
    from ..streaming import is_dask_array

    if not is_dask_array(X):
        return model.abundances_and_scale(X)
    X = X.rechunk({1: -1})
    R = int(model.components_.shape[0])
    parts = np.asarray(
        map_model_blocks(
            model,
            X,
            "abundance_and_scale_columns",
            chunks=(X.chunks[0], (R + 1,)),
            dtype=np.float64,
        ).compute()
    )
    return parts[:, :-1].copy(), parts[:, -1].copy()


# -- keeping the model in s.save() ---------------------------------------------
def _save(original):
    @functools.wraps(original)
    def save(self, *args, **kwargs):
        lr = getattr(self, "learning_results", None)
        est = getattr(lr, "decomposition_algorithm", None)
        if lr is None or not hasattr(est, "save") or not hasattr(est, "get_params"):
            return original(self, *args, **kwargs)
        try:
            data = model_to_bytes(est)
        except ModelFileError as err:
            warnings.warn(
                f"the eels_ae model is not stored in the file: {err}",
                UserWarning,
                stacklevel=2,
            )
            data = None
        saved = dict(lr.__dict__)
        # What HDF5 can hold: the algorithm's name and the model file's bytes.
        lr.decomposition_algorithm = f"eels_ae.{type(est).__name__}"
        if data is not None:
            lr.eels_ae_model = np.frombuffer(data, dtype=np.uint8)
        try:
            return original(self, *args, **kwargs)
        finally:
            lr.__dict__.clear()
            lr.__dict__.update(saved)

    setattr(save, _WRAPPED, original)
    return save


def install_save_hook():
    """Wrap ``BaseSignal.save`` so that eels_ae models are stored safely (once)."""
    from hyperspy.signal import BaseSignal

    method = BaseSignal.__dict__["save"]
    if not hasattr(method, _WRAPPED):
        BaseSignal.save = _save(method)


def uninstall_save_hook():
    """Give HyperSpy back its own ``save``."""
    from hyperspy.signal import BaseSignal

    method = BaseSignal.__dict__["save"]
    if hasattr(method, _WRAPPED):
        BaseSignal.save = getattr(method, _WRAPPED)
