"""Signal methods derived from the registry (``s.vae()``, ``s.rvae()``,
``s.denoise_ae()``).

Every registry entry with a ``method`` becomes a method of HyperSpy's
``Signal1D`` (and so of ``EELSSpectrum`` and the lazy classes). The method is
generated here from three pieces the entry names:

- its **input** (:data:`INPUTS`): how the estimator's data are taken from the
  signal (the spectra or the image as they are, or the abundance maps of a
  decomposition), with the keywords that only the input uses;
- its **estimator** (``**params`` of the method are the estimator's, listed
  in the generated docstring and checked: an unknown one lists the valid
  ones);
- its **result** (:data:`RESULTS`): how the fitted model's output comes back
  as HyperSpy objects.

The docstring is assembled from the same pieces, so a new algorithm gets its
method, documented, by its registry entry alone. The methods never modify the
signal, and never touch ``s.learning_results``.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from .. import registry
from ..spectrum_image import as_spectrum_image
from .maps_input import MAPS_INPUT_DOC, abundance_maps_input
from .params import check_params, fitted_model, runtime_options, split_runtime

__all__ = ["INPUTS", "RESULTS", "make_signal_method", "signal_methods"]


@dataclass(frozen=True)
class Input:
    """How a method takes its estimator's data from the signal.

    ``take(signal, params, call) -> (X, context)`` may consume keywords from
    ``params`` (listed in ``keywords``, documented by ``doc``).
    """

    take: Callable
    keywords: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class Result:
    """How a fitted model's output comes back: ``build(signal, model, X,
    context)``, with the numpydoc ``returns`` and ``examples`` of the method."""

    build: Callable
    returns: str
    examples: str = ""


def _signal_as_is(signal, params, call):
    # Shape checks first: a bad signal fails before any training.
    as_spectrum_image(signal, call)
    return signal, {}


INPUTS = {
    "spectra": Input(_signal_as_is),
    "image": Input(_signal_as_is),
    "maps": Input(abundance_maps_input, ("channels", "n_components"), MAPS_INPUT_DOC),
}


def _vae_result(signal, model, X, context):
    from .vae_results import VAEResult

    return VAEResult.from_signal(signal, model)


def _rvae_result(signal, model, X, context):
    from .rvae_results import RVAEResult

    return RVAEResult.from_maps(
        signal, model, X, context["channels"], context["source"]
    )


def _denoised(signal, model, X, context):
    return model.denoise(signal)


RESULTS = {
    "VAEResult": Result(
        _vae_result,
        """    VAEResult
        ``latent`` (one map per latent variable), ``latent_std``,
        ``reconstruction`` (same class, axes and metadata as this signal;
        lazy if it is lazy), ``mse`` (map), ``model``, and the figures
        ``plot_latent_distribution()``, ``plot_reconstruction_summary()``,
        ``plot_pixels()`` and ``plot_latent_grid()``.
""",
        """    >>> result = s.vae(latent_dim=2, random_state=0)
    >>> result.latent.plot()                        # z1, z2 maps
    >>> result.plot_latent_distribution()
    >>> result2 = s2.vae(model=result.model)        # next acquisition
""",
    ),
    "RVAEResult": Result(
        _rvae_result,
        """    RVAEResult
        ``angle``, ``latent``, ``latent_std``, ``shift``, ``input``,
        ``reconstruction``: HyperSpy signals on the interior grid (the
        navigation calibration kept, offset by half a window), ``model``,
        ``channels``, and the figures (``plot_angle``, ``plot_latent``,
        ``plot_histograms``, ``plot_latent_distribution``,
        ``plot_manifold``, ``plot_reconstruction``) and ``decode``.
""",
        """    >>> s.decomposition(algorithm="NMF", output_dimension=6)
    >>> result = s.rvae(channels=[0, 2, 3], window=12, random_state=0)
    >>> result.plot_angle()
    >>> result.plot_manifold(n=8)
""",
    ),
    "denoised": Result(
        _denoised,
        """    denoised : same class as this signal
        Same axes and metadata; lazy if this signal is lazy (computed chunk by
        chunk when asked). Background-free if ``background_range`` was given.
""",
        """    >>> sd, model = s.denoise_ae(background_range=(500., 525.),
    ...                          random_state=0, return_model=True)
    >>> s2d = s2.denoise_ae(model=model)   # the next acquisition, no training
""",
    ),
}


def make_signal_method(entry):
    """The signal method of a registry entry, with its generated docstring."""
    cls = entry.estimator
    take = INPUTS[entry.input]
    result = RESULTS[entry.result]
    call = f"s.{entry.method}()"

    def method(self, model=None, return_model=False, **params):
        inputs = {k: params.pop(k) for k in take.keywords if k in params}
        given = {**params, **inputs}
        # Progress bars and the device are the call's, with or without a model.
        runtime = split_runtime(params) if model is not None else {}
        if model is None:
            # Unknown keywords fail before the input is made (an NMF, say).
            check_params(cls, params, call, extra=_extra(take))
            model, params = cls(**params), {}
        X, context = take.take(self, given, call)
        with runtime_options(model, runtime):
            model = fitted_model(cls, model, params, call, X)
            out = result.build(self, model, X, context)
        return (out, model) if return_model else out

    method.__name__ = method.__qualname__ = entry.method
    method.__module__ = __name__
    method.__doc__ = _docstring(entry, take, result)
    method.__signature__ = _signature(cls, take)
    return method


def _signature(cls, take):
    """What ``inspect.signature`` (Jupyter's Shift-Tab, IDEs) shows for a
    generated method: every parameter of the estimator with its default,
    keyword-only, rather than ``**params``. The method itself still takes
    them as keywords and checks them against the estimator."""
    P = inspect.Parameter
    params = [
        P("self", P.POSITIONAL_OR_KEYWORD),
        P("model", P.POSITIONAL_OR_KEYWORD, default=None),
        P("return_model", P.POSITIONAL_OR_KEYWORD, default=False),
    ]
    params += [P(k, P.KEYWORD_ONLY, default=None) for k in take.keywords]
    seen = {p.name for p in params}
    for name, p in inspect.signature(cls).parameters.items():
        if name not in seen and p.kind is not P.VAR_KEYWORD:
            params.append(P(name, P.KEYWORD_ONLY, default=p.default))
    return inspect.Signature(params)


def _extra(take):
    if not take.keywords:
        return ""
    return f" (and {', '.join(take.keywords)} for the input)"


def _docstring(entry, take, result):
    cls = entry.estimator
    names = ", ".join(f"``{n}``" for n in inspect.signature(cls).parameters)
    names = textwrap.fill(
        names, width=79, initial_indent=" " * 8, subsequent_indent=" " * 8
    )
    summary = entry.summary[0].upper() + entry.summary[1:]
    return f"""{summary}.

    Trains an :class:`eels_ae.{cls.__name__}` on this signal (or applies a
    trained one) and returns its results as HyperSpy objects with the
    calibrated axes of this signal. Generated from the registry entry
    ``{entry.name!r}`` (:mod:`eels_ae.registry`).

    Parameters
    ----------
    model : eels_ae.{cls.__name__}, optional
        A fitted model (e.g. from an earlier acquisition with the same energy
        axis, or :func:`eels_ae.load_model`) to apply without training. An
        unfitted one is fitted here first, with its own parameters.
    return_model : bool, default False
        Also return the fitted model.
{take.doc}    **params
        Parameters of a new :class:`eels_ae.{cls.__name__}` (see there):
{names}.

    Returns
    -------
{result.returns}    model : eels_ae.{cls.__name__}
        Only with ``return_model=True``.

    Raises
    ------
    TypeError
        For an unknown keyword (the message lists the valid ones), or
        parameters given together with a ``model``.
    ValueError
        For a bad parameter value (the message names it), a signal that is
        not a line scan or spectrum image of spectra, NaN or inf values (with
        the pixels where they are), or an energy axis that differs from the
        model's.

    Notes
    -----
    The signal is never modified, and ``s.learning_results`` is not touched.

    Examples
    --------
{result.examples}"""


def signal_methods():
    """Name -> generated function of every registry entry with a method."""
    return {
        entry.method: make_signal_method(entry)
        for entry in registry.REGISTRY.values()
        if entry.method
    }
