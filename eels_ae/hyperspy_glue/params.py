"""Keyword arguments of HyperSpy-side calls turned into estimator parameters."""

from __future__ import annotations

import contextlib

__all__ = [
    "RUNTIME_OPTIONS",
    "check_params",
    "fitted_model",
    "runtime_options",
    "split_runtime",
]

#: Options of a call rather than of a model: every method and every
#: ``decomposition`` name takes them, with a new model or with ``model=``
#: (HyperSpy users pass ``show_progressbar`` to every method, and a loop over
#: names must not break on the ones without a progress bar).
RUNTIME_OPTIONS = ("show_progressbar", "device")


def split_runtime(params):
    """Remove the :data:`RUNTIME_OPTIONS` from ``params`` (in place) and
    return them."""
    return {k: params.pop(k) for k in RUNTIME_OPTIONS if k in params}


@contextlib.contextmanager
def runtime_options(model, options):
    """Run a call with ``options`` (:data:`RUNTIME_OPTIONS`) on ``model``.

    ``show_progressbar`` holds for the call only: the model keeps its own
    afterwards. ``device`` moves a fitted torch model there (as torch's
    ``.to``), so its inference runs there, and an unfitted one trains there.
    An option the model does not have is ignored: VCA has no progress bar
    and runs on the CPU.
    """
    bar = options.get("show_progressbar")
    if bar is not None and not isinstance(bar, bool):
        raise ValueError(f"show_progressbar must be True, False or None; got {bar!r}.")
    own = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    options = {k: v for k, v in options.items() if k in own}
    before = {k: own[k] for k in options if k != "device"}
    if options:
        model.set_params(**options)
    if "device" in options and hasattr(model, "model_"):
        from ..training import resolve_device

        device = resolve_device(options["device"])
        model.model_.to(device)
        model.device_ = device
    try:
        yield model
    finally:
        if before:
            model.set_params(**before)


def check_params(cls, params, call, exclude=(), extra=""):
    """Raise a ``TypeError`` listing the valid parameters for any unknown one.

    Parameters
    ----------
    cls : type
        A scikit-learn estimator class.
    params : dict
        The keyword arguments given.
    call : str
        How the user called it, for the message (e.g. ``"s.denoise_ae()"``).
    exclude : iterable of str
        Estimator parameters set by the call itself.
    extra : str
        Appended to the list of valid parameters.
    """
    valid = sorted(set(cls().get_params()) - set(exclude))
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(
            f"{call} got unexpected keyword argument(s) {', '.join(unknown)}. "
            f"Valid {cls.__name__} parameters: {', '.join(valid)}{extra}."
        )


def fitted_model(cls, model, params, call, X):
    """The estimator a signal method uses: ``model`` as given, or a new one.

    Parameters
    ----------
    cls : type
        The estimator class the method works with.
    model : estimator or None
        ``None``: a new ``cls(**params)`` (unknown keywords raise, see
        :func:`check_params`). Otherwise an instance of ``cls``, applied as it
        is (``params`` must be empty).
    params : dict
    call : str
        How the user called it, for the messages (e.g. ``"s.vae()"``).
    X : object
        What an unfitted model is fitted on.

    Raises
    ------
    TypeError
        For a keyword the estimator does not have, or model parameters given
        with a ``model`` (:data:`RUNTIME_OPTIONS` are the call's: apply them
        with :func:`runtime_options`).

    Returns
    -------
    A fitted instance of ``cls``.
    """
    if model is None:
        check_params(cls, params, call)
        model = cls(**params)
    else:
        if not isinstance(model, cls):
            raise TypeError(
                f"model must be an eels_ae.{cls.__name__}, got {type(model).__name__}."
            )
        if params:
            raise TypeError(
                f"{call[:-1]}model=...) applies a model as it is: set "
                f"{', '.join(sorted(params))} on the model (model.set_params) instead "
                f"(the call takes only {' and '.join(RUNTIME_OPTIONS)})."
            )
    if not hasattr(model, "model_"):
        model.fit(X)
    return model
