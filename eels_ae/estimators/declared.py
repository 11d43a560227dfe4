"""Parameters declared once: a generated scikit-learn ``__init__`` and checks.

An estimator class lists its parameters with their defaults
(``_model_params``) and constraints (``_constraints``); this mixin generates
the ``__init__`` scikit-learn expects (it only stores the parameters; all
keyword-only but those in ``_positional``), accepts renamed parameters under
their old names with a ``FutureWarning`` (``_renamed``), and checks every
parameter at ``fit`` with one wording (:func:`eels_ae.validation.check_parameters`).
"""

from __future__ import annotations

import inspect
import warnings

from ..validation import check_parameters

__all__ = ["DeclaredParamsMixin"]


def _generated_init(cls):
    """A keyword-only ``__init__`` storing the declared parameters (and only them)."""
    params = cls._all_params()
    kinds = inspect.Parameter
    signature = inspect.Signature(
        [kinds("self", kinds.POSITIONAL_OR_KEYWORD)]
        + [
            kinds(
                name,
                kinds.POSITIONAL_OR_KEYWORD
                if name in cls._positional
                else kinds.KEYWORD_ONLY,
                default=default,
            )
            for name, default in params.items()
        ]
    )

    def __init__(self, *args, **kwargs):
        for old, new in cls._renamed.items():
            if old in kwargs:
                warnings.warn(
                    f"{cls.__name__}: the parameter {old!r} is now called {new!r}; "
                    "the old name will stop working in a later release.",
                    FutureWarning,
                    stacklevel=2,
                )
                if new in kwargs:
                    raise TypeError(f"{cls.__name__}: give {new!r}, not both names.")
                kwargs[new] = kwargs.pop(old)
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as err:
            raise TypeError(
                f"{cls.__name__}: {err}. Its parameters are keyword-only "
                f"(except {', '.join(cls._positional) or 'none'}): "
                f"{', '.join(params)}."
            ) from None
        bound.apply_defaults()
        for name in params:
            setattr(self, name, bound.arguments[name])

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"See :class:`{cls.__name__}` for the parameters."
    return __init__


class DeclaredParamsMixin:
    """Generates ``__init__`` from ``_model_params``; checks ``_constraints``."""

    #: Parameters (name -> default), in constructor order.
    _model_params: dict = {}
    #: Parameters that may also be given by position (scikit-learn allows
    #: the first, e.g. ``DAEU(3)`` as ``PCA(3)``).
    _positional: tuple = ()
    #: Old parameter names still accepted (with a FutureWarning): old -> new.
    _renamed: dict = {}
    #: Constraints (name -> check, see :mod:`eels_ae.validation`).
    _constraints: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if any(k in cls.__dict__ for k in ("_model_params", "_training_defaults")):
            cls.__init__ = _generated_init(cls)

    @classmethod
    def _all_params(cls) -> dict:
        return dict(cls._model_params)

    @classmethod
    def _all_constraints(cls) -> dict:
        return dict(cls._constraints)

    def _check_parameters(self):
        check_parameters(self, self._all_constraints())
