"""eels_ae's algorithm names in HyperSpy's ``decomposition``.

HyperSpy has no hook for new *string* algorithm names (they are literals in
``MVA.decomposition`` and ``LazySignal.decomposition``). :func:`install`
wraps both methods once: an eels_ae name (or estimator object) is turned into
a fitted estimator, everything else goes to HyperSpy untouched.

- Eager signals: HyperSpy's own code runs with the estimator object, so masks,
  ``normalize_poissonian_noise`` and ``reproject`` behave as in HyperSpy.
- Lazy signals: HyperSpy would either fit one block at a time (one pass) or
  concatenate everything in memory. eels_ae streams the dask array for all
  epochs instead and stores the results itself.
- A call that fails leaves ``s.learning_results`` as it was (HyperSpy alone
  would overwrite them with an empty result).
"""

from __future__ import annotations

import copy
import functools
import inspect
import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.base import clone

from .. import registry
from ..estimators import EnsembleUnmixing, UnmixingEstimator
from ..validation import NonFiniteDataError, pixel_namer, warn
from .apply import keep_energy_shift, keep_intensity_scale, signal_energy_axis
from .background import (
    BACKGROUND_POOLING,
    keep_background,
    signal_without_background,
    warn_far_extrapolation,
)
from .compat import (
    copy_with_new_data,
    decomposition_classes,
    is_lazy,
    navigation_shape_in_array,
    poisson_scaled,
    spectrum_image_array,
    unfolded_spectra,
)
from .params import RUNTIME_OPTIONS, check_params, runtime_options, split_runtime

__all__ = ["ALGORITHMS", "install", "make_estimator", "register_algorithm"]


class _UnmixingNames(Mapping):
    """Name -> estimator class of the registry's unmixing entries (a live view:
    an entry registered later is a ``decomposition`` name at once)."""

    def __getitem__(self, name):
        entry = registry.REGISTRY.get(str(name).lower())
        if entry is None or entry.kind != "unmixing":
            raise KeyError(name)
        return entry.estimator

    def __iter__(self):
        return iter(registry.by_kind("unmixing"))

    def __len__(self):
        return len(registry.by_kind("unmixing"))

    def __repr__(self):
        return repr(dict(self))


#: Algorithm names accepted by ``s.decomposition(algorithm=...)``: the
#: unmixing entries of :data:`eels_ae.registry.REGISTRY`.
ALGORITHMS = _UnmixingNames()

_WRAPPED = "__eels_ae_original__"

#: ``learning_results`` attributes only eels_ae's algorithms set: HyperSpy's
#: own algorithms leave none behind.
_OWN_RESULTS = (
    "energy_shift",
    "endmember_variability",
    "background",
    "abundance_std",
    "endmember_std",
)


def register_algorithm(name, estimator_class, input="spectra", summary=""):
    """Make ``s.decomposition(algorithm=name)`` use ``estimator_class``.

    Adds an unmixing entry to :data:`eels_ae.registry.REGISTRY`. With
    ``input="image"`` the estimator receives the spectrum image ``(rows,
    columns, channels)`` (numpy or dask) instead of unfolded spectra, so a
    spatial method sees each pixel's neighbours.
    """
    entry = registry.Algorithm(
        name.lower(),
        estimator_class,
        "unmixing",
        input,
        None,
        summary,
        "learning_results",
    )
    registry.register(entry)


def make_estimator(name, output_dimension, params):
    """Build the estimator behind an algorithm name.

    Parameters
    ----------
    name : str
        A key of :data:`ALGORITHMS` (any case).
    output_dimension : int
        Becomes ``n_components``.
    params : dict
        Other keyword arguments of ``decomposition``: estimator parameters.

    Raises
    ------
    TypeError
        For a parameter the estimator does not have (the message lists them).
    ValueError
        If ``output_dimension`` is missing.
    """
    cls = ALGORITHMS[name.lower()]
    params = dict(params)
    runtime = split_runtime(params)
    # A runtime option the estimator does not have (VCA's progress bar) is
    # dropped: a loop over every name passes the same keywords to each.
    own = cls._get_param_names()
    params.update({k: v for k, v in runtime.items() if k in own})
    check_params(
        cls,
        params,
        f"decomposition(algorithm={name!r})",
        exclude={"n_components"},
        extra=" (and output_dimension for n_components)",
    )
    if output_dimension is None:
        raise ValueError(
            f"algorithm={name!r} needs output_dimension: the number of endmembers "
            "to unmix, e.g. s.decomposition(algorithm="
            f"{name!r}, output_dimension=3)."
        )
    return cls(n_components=output_dimension, **params)


#: HyperSpy's own decomposition algorithm names (HyperSpy 2.x).
_HYPERSPY_ALGORITHMS = (
    "SVD",
    "MLPCA",
    "sklearn_pca",
    "NMF",
    "sparse_pca",
    "mini_batch_sparse_pca",
    "RPCA",
    "ORPCA",
    "ORNMF",
)


def _check_known(algorithm):
    """A misspelt name gets the nearest names of eels_ae and HyperSpy, rather
    than HyperSpy's list alone (which does not know eels_ae's)."""
    import difflib

    if not isinstance(algorithm, str) or algorithm in _HYPERSPY_ALGORITHMS:
        return
    names = {n.lower(): n for n in (*ALGORITHMS, *_HYPERSPY_ALGORITHMS)}
    close = difflib.get_close_matches(algorithm.lower(), names, n=3, cutoff=0.6)
    if not close:
        return  # HyperSpy's own message
    raise ValueError(
        f"algorithm={algorithm!r} is not known; did you mean "
        + " or ".join(repr(names[c]) for c in close)
        + f"? eels_ae's: {', '.join(sorted(ALGORITHMS))}; HyperSpy's: "
        + ", ".join(_HYPERSPY_ALGORITHMS)
        + "."
    )


def _is_ours(algorithm):
    if isinstance(algorithm, str):
        return algorithm.lower() in ALGORITHMS
    return isinstance(algorithm, UnmixingEstimator)


def _check_signal(signal):
    """Errors that are clearer at the signal level than in the estimator."""
    am = signal.axes_manager
    if am.signal_dimension != 1:
        raise ValueError(
            f"eels_ae unmixing needs spectra (signal dimension 1); this "
            f"{type(signal).__name__} has signal dimension {am.signal_dimension}. "
            "For a stack of spectra stored as images, use s.as_signal1D(axis) "
            "or s.T first."
        )
    if am.navigation_size < 2:
        raise ValueError(
            "eels_ae unmixing needs a spectrum image or line: this signal holds "
            "a single spectrum (navigation size 1)."
        )


def _wrap(original, lazy):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def decomposition(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        algorithm = arguments["algorithm"]
        if not _is_ours(algorithm):
            _check_known(algorithm)
            out = original(self, *args, **kwargs)
            # HyperSpy's own results have no intensity scale, shift or
            # variability maps.
            self.learning_results.__dict__.pop("intensity_scale", None)
            for name in _OWN_RESULTS:
                self.learning_results.__dict__.pop(name, None)
            return out
        extra = arguments.pop("kwargs", {})
        background_range = extra.pop("background_range", None)
        background_pooling = extra.pop("background_pooling", BACKGROUND_POOLING)
        members = extra.pop("ensemble", None)
        show = extra.get("show_progressbar")
        runtime = {}
        if isinstance(algorithm, str):
            estimator = make_estimator(algorithm, arguments["output_dimension"], extra)
        else:
            runtime = split_runtime(extra)
            if extra:
                raise TypeError(
                    "set the parameters on the estimator object itself, not as "
                    f"decomposition keyword arguments: {', '.join(sorted(extra))} "
                    f"(the call takes only {' and '.join(RUNTIME_OPTIONS)})."
                )
            estimator = algorithm
            wanted = arguments["output_dimension"]
            if wanted is not None and wanted != getattr(
                estimator, "n_components", wanted
            ):
                raise ValueError(
                    f"output_dimension={wanted} but this {type(estimator).__name__} "
                    f"has n_components={estimator.n_components}: give one of them "
                    "(the estimator's n_components is used when output_dimension "
                    "is left out)."
                )
            arguments["output_dimension"] = getattr(estimator, "n_components", wanted)
            if hasattr(estimator, "components_"):
                # Refitting it in place would change the model that another
                # signal's learning_results hold.
                warn(
                    f"this {type(estimator).__name__} is already fitted: a fresh "
                    "copy with the same parameters is fitted here, so that results "
                    "that hold the fitted one keep their model."
                )
                estimator = clone(estimator)
        if members is not None:
            estimator = _ensemble(estimator, members, show, arguments)
        arguments["algorithm"] = estimator
        _check_signal(self)
        # Bad parameters fail before HyperSpy touches the data.
        if hasattr(estimator, "_check_parameters"):
            estimator._check_parameters()
        poisson = bool(arguments.get("normalize_poissonian_noise"))
        if poisson and background_range is not None:
            raise ValueError(
                "normalize_poissonian_noise and background_range cannot be "
                "combined: the Poisson weights come from the counts with their "
                "background, which background_range removes. Use one of them."
            )
        # HyperSpy scales the data in place and scales them back, which is
        # not exact in floating point: keep the data to put them back as they
        # were, whether the call succeeds or fails.
        backup = self.data.copy() if poisson and not lazy else None
        saved = _rollback_copy(self.learning_results.__dict__)
        try:
            background = None
            if background_range is not None:
                work, left_out, background = signal_without_background(
                    self, background_range, _checked_pooling(background_pooling)
                )
                arguments["signal_mask"] = _with_left_out(
                    self, arguments.get("signal_mask"), left_out
                )
                warn_far_extrapolation(
                    self.axes_manager.signal_axes[0].axis,
                    background_range,
                    ~arguments["signal_mask"],
                )
                arguments["self"] = work
                work.learning_results.__dict__.update(
                    copy.copy(self.learning_results.__dict__)
                )
            work = arguments["self"]
            with runtime_options(estimator, runtime):
                if lazy or _takes_image(estimator):
                    image = _takes_image(estimator)
                    out = _lazy_decomposition(**arguments, image=image)
                elif work.data.dtype.kind in "iub":
                    out = _on_float_copy(original, arguments)
                else:
                    out = original(**arguments)
            # The axis trained on, and what was done to the spectra before
            # unmixing, travel with the model (model files, apply_model).
            estimator.energy_axis_ = signal_energy_axis(self)
            estimator.preprocessing_ = _preprocessing(
                self, arguments.get("signal_mask"), background_range, background
            )
            keep_intensity_scale(
                work,
                estimator.intensity_scale_
                if getattr(estimator, "_per_pixel", False)
                else None,
            )
            keep_energy_shift(work, getattr(estimator, "channel_shift_", None))
            _keep_endmember_variability(work, estimator)
            _keep_uncertainty(work, estimator)
            keep_background(work, background, background_range)
            if work is not self:
                self.learning_results.__dict__.update(work.learning_results.__dict__)
            if poisson:
                _warn_poisson_loadings(self.learning_results.loadings)
            _warn_few_pixel_components(self)
            return out
        except BaseException as err:
            self.learning_results.__dict__.clear()
            self.learning_results.__dict__.update(saved)
            if (
                isinstance(err, NonFiniteDataError)
                and arguments.get("navigation_mask") is None
            ):
                # Name the pixels (x, y, ...) rather than rows of the unfolded data.
                where = pixel_namer(navigation_shape_in_array(self))
                raise NonFiniteDataError(err.summary, where) from None
            raise
        finally:
            if backup is not None:
                np.copyto(self.data, backup)

    setattr(decomposition, _WRAPPED, original)
    return decomposition


def _warn_few_pixel_components(signal):
    """Name the components whose map is a few pixels (an X-ray spike or a hot
    pixel taken for a phase), with their pixels."""
    from ..result_checks import few_pixel_components

    loadings = signal.learning_results.loadings
    if loadings is None or navigation_shape_in_array(signal) is None:
        return
    found = few_pixel_components(np.asarray(loadings))
    if not found:
        return
    where = pixel_namer(navigation_shape_in_array(signal))
    listed = "; ".join(
        f"component {k}: {', '.join(where(p) for p in pixels)}"
        for k, pixels in found.items()
    )
    warn(
        f"the map of {'component' if len(found) == 1 else 'components'} "
        f"{', '.join(map(str, found))} is a few pixels ({listed}): an X-ray "
        "spike or a hot pixel (or a feature that small), not a phase. Look at "
        "those spectra; remove spikes (s.spikes_removal_tool()) and unmix again, "
        "or leave the pixels out (navigation_mask)."
    )


def _ensemble(estimator, members, show, arguments):
    """``ensemble=N``: the estimator repeated N times
    (:class:`~eels_ae.estimators.EnsembleUnmixing`), seeded by its own
    ``random_state``."""
    if isinstance(members, bool) or not isinstance(members, numbers.Integral):
        raise TypeError(
            f"ensemble must be a number of members (an integer >= 2), got {members!r}."
        )
    if members < 2:
        raise ValueError(
            f"ensemble={members}: an ensemble needs at least 2 members (5 is a "
            "good start); leave ensemble out for a single fit."
        )
    if arguments.get("normalize_poissonian_noise"):
        raise ValueError(
            "ensemble and normalize_poissonian_noise cannot be combined: the "
            "ensemble's resampling models the counts' noise itself, and its "
            "spreads would be in the scaled units. Leave "
            "normalize_poissonian_noise out."
        )
    seed = estimator.get_params(deep=False).get("random_state")
    if isinstance(estimator, EnsembleUnmixing):
        raise ValueError(
            "this estimator is already an ensemble: leave the ensemble keyword out."
        )
    return EnsembleUnmixing(
        estimator, n_members=int(members), random_state=seed, show_progressbar=show
    )


def _keep_uncertainty(signal, estimator):
    """``s.learning_results.abundance_std`` and ``endmember_std`` of an
    ensemble: signals shaped as ``s.get_decomposition_loadings()`` and
    ``s.get_decomposition_factors()`` (channels left out by a mask are NaN,
    as in the factors); removed for a single fit."""
    results = signal.learning_results
    for name in ("abundance_std", "endmember_std"):
        results.__dict__.pop(name, None)
    if not isinstance(estimator, EnsembleUnmixing):
        return
    loadings = signal.get_decomposition_loadings()
    std = np.asarray(estimator.abundance_std_)
    if std.size == loadings.data.size:
        loadings.data = std.T.reshape(loadings.data.shape).astype(loadings.data.dtype)
        loadings.metadata.General.title = "abundance std (ensemble)"
        results.abundance_std = loadings
    factors = signal.get_decomposition_factors()
    kept = np.all(np.isfinite(factors.data), axis=0)
    if int(kept.sum()) == estimator.endmember_std_.shape[1]:
        data = np.full(factors.data.shape, np.nan, dtype=np.float64)
        data[:, kept] = estimator.endmember_std_
        factors.data = data
        factors.metadata.General.title = "endmember std (ensemble)"
        results.endmember_std = factors


def _rollback_copy(results):
    """What a failed call puts back in ``learning_results``: the arrays and
    signals copied (a later call replaces them, HyperSpy may scale them in
    place), the fitted estimator kept as it is (a fitted one is never refit
    in place: it is cloned, see above). A deep copy of the estimator would
    copy whatever its callbacks hold (the training panel's widgets, which
    cannot be copied) and fail every later call on this signal."""
    saved = {}
    for key, value in results.items():
        if isinstance(value, np.ndarray):
            saved[key] = value.copy()
        elif hasattr(value, "get_params"):
            saved[key] = value
        else:
            try:
                saved[key] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - kept as it is, as the estimator
                saved[key] = value
    return saved


def _keep_endmember_variability(signal, estimator):
    """``s.learning_results.endmember_variability``: the relative change of
    each pixel's endmembers from the mean ones (a stack of maps, one per
    component, on the calibrated navigation grid), for a model with
    endmember variability (VAEU)."""
    from .adapters import _navigation_maps

    signal.learning_results.__dict__.pop("endmember_variability", None)
    if not hasattr(estimator, "endmember_variability"):
        return
    if estimator.n_features_in_ != signal.axes_manager.signal_size:
        return  # a signal_mask left channels out: no per-pixel endmembers
    variability = estimator.endmember_variability(unfolded_spectra(signal))
    signal.learning_results.endmember_variability = _navigation_maps(
        signal,
        variability.T,
        "endmember variability (|E_pixel - E_mean| / |E_mean|)",
        stack_axis="component",
    )


def _checked_pooling(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            "background_pooling must be a number of pixels >= 0 (0: HyperSpy's "
            f"per-pixel power-law fit); got {value!r}."
        )
    return float(value)


def _preprocessing(signal, signal_mask, background_range, background):
    """What was done to the spectra before unmixing, for ``apply_model`` to
    do the same to the next acquisition: the power-law window and pooling
    (``background_range``), and the channels unmixed (True) on the signal's
    axis; None when the spectra were unmixed as they are."""
    mask = _mask_array(signal, signal_mask)
    if mask is None and background_range is None:
        return None
    return {
        "background_range": None
        if background_range is None
        else tuple(float(v) for v in background_range),
        "background_pooling": None if background is None else background["pooling"],
        "channels": None if mask is None else ~mask,
    }


def _with_left_out(signal, signal_mask, left_out):
    """The user's ``signal_mask`` (True: left out) with the channels of the
    background window and below left out too."""
    mask = _mask_array(signal, signal_mask)
    return left_out if mask is None else mask | left_out


def _warn_poisson_loadings(loadings):
    sums = np.asarray(loadings).sum(axis=1)
    warn(
        "with normalize_poissonian_noise=True HyperSpy scales each pixel's "
        "loadings by its Poisson weight, so they are no longer abundances that "
        f"sum to one (sums from {sums.min():.3g} to {sums.max():.3g} here): the "
        "abundances are loadings / loadings.sum(axis=1)."
    )


def _on_float_copy(original, arguments):
    """HyperSpy's decomposition on a float32 copy of integer detector data.

    HyperSpy refuses integer data in ``decomposition``; eels_ae's algorithms
    take counts as they come. The results are moved to the signal, whose data
    stay as they are. Silent: nothing is wrong, and a note on every call of
    every dm file was noise.
    """
    signal = arguments["self"]
    work = copy_with_new_data(signal, signal.data.astype(np.float32))
    work.learning_results.__dict__.update(copy.copy(signal.learning_results.__dict__))
    out = original(**{**arguments, "self": work})
    signal.learning_results.__dict__.update(work.learning_results.__dict__)
    return out


def _takes_image(estimator):
    """True for a registered spatial algorithm (input ``"image"``), alone or
    in an ensemble (the registry knows both)."""
    try:
        return registry.for_estimator(estimator).input == "image"
    except TypeError:  # an estimator the registry does not know
        return False


def _lazy_decomposition(
    self, algorithm, output_dimension, return_info, print_info, image=False, **options
):
    """Fit an eels_ae estimator on the signal's spectra (a lazy signal is
    streamed) or, for a spatial algorithm, on its image; store the results."""
    from hyperspy.learn import LearningResults

    unsupported = [
        name
        for name in (
            "centre",
            "navigation_mask",
            "reproject",
        )
        if options.get(name) is not None and options.get(name) is not False
    ]
    if unsupported:
        where = (
            "lazy signals"
            if is_lazy(self)
            else f"the spatial algorithm {type(algorithm).__name__}"
        )
        raise NotImplementedError(
            f"{', '.join(unsupported)} are not supported by eels_ae on {where} "
            "yet; call on s.compute() (or a cropped signal) instead"
            + (", or use a spectra algorithm." if not is_lazy(self) else ".")
        )
    keep = _kept_channels(self, options.get("signal_mask"))
    estimator = algorithm
    X = unfolded_spectra(self)
    if keep is not None:
        X = X[:, keep]
    poisson = bool(options.get("normalize_poissonian_noise"))
    if poisson:
        # As HyperSpy does on eager data (its scaling, on a copy or lazily).
        X, root_ag, root_bh = poisson_scaled(X)
    if image:
        X = X.reshape(spectrum_image_array(self).shape[:2] + (X.shape[-1],))
    loadings = estimator.fit_transform(X)
    target = LearningResults()
    factors = estimator.components_.T.copy()
    if poisson:
        factors = factors * root_bh[:, None]
        loadings = loadings * root_ag[:, None]
    if keep is not None:
        # HyperSpy's convention: the masked channels of the factors are NaN.
        full = np.full((keep.size, factors.shape[1]), np.nan, dtype=factors.dtype)
        full[keep] = factors
        factors = full
    target.factors = factors
    target.loadings = loadings
    target.decomposition_algorithm = estimator
    target.output_dimension = output_dimension
    target.poissonian_noise_normalized = poisson
    target.centre = None
    target.mean = None
    if output_dimension and target.factors.shape[1] != output_dimension:
        target.crop_decomposition_dimension(output_dimension)
    self.learning_results.__dict__.update(target.__dict__)
    if print_info:
        print(
            "\n".join(
                [
                    "Decomposition info:",
                    f"  normalize_poissonian_noise={poisson}",
                    f"  algorithm={estimator}",
                    f"  output_dimension={output_dimension}",
                    "  centre=None",
                    "eels_ae estimator (streamed over the lazy data):",
                    str(estimator),
                ]
            )
        )
    return estimator if return_info else None


def _kept_channels(signal, signal_mask):
    """The channels a ``signal_mask`` (True: left out, as in HyperSpy) keeps,
    or None without a mask."""
    mask = _mask_array(signal, signal_mask)
    if mask is None:
        return None
    if mask.all():
        raise ValueError("signal_mask leaves out every channel: nothing to unmix.")
    return ~mask


def _mask_array(signal, signal_mask):
    """A ``signal_mask`` (array or signal) as a flat boolean array, checked
    against the number of channels; None without a mask."""
    if signal_mask is None or signal_mask is False:
        return None
    mask = np.asarray(getattr(signal_mask, "data", signal_mask), dtype=bool).ravel()
    n = signal.axes_manager.signal_size
    if mask.size != n:
        raise ValueError(
            f"signal_mask has {mask.size} values but the signal has {n} channels."
        )
    return mask


def _wrap_model(original):
    """``get_decomposition_model`` / ``get_bss_model`` times the per-pixel
    intensity scale of eels_ae's results (``x ~ scale * loadings @ factors``),
    so that HyperSpy's reconstruction follows the thickness of each pixel."""

    @functools.wraps(original)
    def get_model(self, *args, **kwargs):
        rec = original(self, *args, **kwargs)
        scale = self.learning_results.__dict__.get("intensity_scale")
        if scale is not None:
            nav = navigation_shape_in_array(self)
            scale = np.asarray(scale).reshape(nav + (1,) * (rec.data.ndim - len(nav)))
            rec.data = rec.data * scale.astype(rec.data.dtype, copy=False)
        return rec

    setattr(get_model, _WRAPPED, original)
    return get_model


_MODEL_METHODS = ("get_decomposition_model", "get_bss_model")


def install():
    """Wrap HyperSpy's ``decomposition`` methods and the reconstructions
    (once; later calls do nothing)."""
    for cls, lazy in decomposition_classes():
        method = cls.__dict__["decomposition"]
        if not hasattr(method, _WRAPPED):
            cls.decomposition = _wrap(method, lazy)
        for name in _MODEL_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not hasattr(method, _WRAPPED):
                setattr(cls, name, _wrap_model(method))


def uninstall():
    """Give HyperSpy back its own methods."""
    for cls, _ in decomposition_classes():
        for name in ("decomposition",) + _MODEL_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and hasattr(method, _WRAPPED):
                setattr(cls, name, getattr(method, _WRAPPED))
