"""Keyword arguments of HyperSpy-side calls turned into estimator parameters."""

from __future__ import annotations

__all__ = ["check_params", "fitted_model"]


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
                f"{', '.join(sorted(params))} on the model (model.set_params) instead."
            )
    if not hasattr(model, "model_"):
        model.fit(X)
    return model
