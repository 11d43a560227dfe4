"""Keyword arguments of HyperSpy-side calls turned into estimator parameters."""

from __future__ import annotations

__all__ = ["check_params"]


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
