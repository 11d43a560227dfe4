"""Every input check of eels_ae, worded once.

All entry points (estimators, the HyperSpy methods, model files) raise the
errors of this module, so a given mistake reads the same wherever it is made:

- :class:`NonFiniteDataError` names the pixels that hold NaN or inf, with one
  pixel namer (:func:`pixel_namer`);
- :func:`check_parameters` checks an estimator's parameters against its
  declared constraints (:class:`Interval`, :class:`Options`,
  :class:`IntSequence`, ...), with one wording: ``"<Class>: <name> must be
  <what>, got <value>."``;
- :func:`as_2d_array` and :func:`summarize_spectra` check arrays of spectra
  (numpy or dask, scanned block by block).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from .streaming import DEFAULT_BLOCK_BYTES, RowStream, is_dask_array

__all__ = [
    "Callables",
    "Either",
    "IntSequence",
    "Interval",
    "NonFiniteDataError",
    "Options",
    "SeedLike",
    "SpectraSummary",
    "as_2d_array",
    "check_finite",
    "check_n_features",
    "check_not_empty",
    "check_numeric",
    "check_parameters",
    "pixel_namer",
    "summarize_spectra",
    "warn",
]


# -- warnings -----------------------------------------------------------------
_PACKAGE_DIR = __file__.rsplit("/", 1)[0]


@functools.lru_cache(maxsize=1)
def _library_dirs():
    """eels_ae's folder and those of the libraries its calls pass through
    (scikit-learn's and HyperSpy's wrappers): a warning points past them."""
    import importlib.util
    import os

    dirs = [_PACKAGE_DIR]
    for name in ("sklearn", "hyperspy", "dask", "exspy"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            dirs.append(os.path.dirname(spec.origin))
    return tuple(dirs)


def warn(message, category=UserWarning):
    """Warn, pointing at the first caller outside eels_ae and the libraries
    it is called through (the user's line).

    One place for the stack level: estimators reach their warnings through
    different call depths (``fit`` -> ``_prepare`` -> checks), and through
    HyperSpy's ``decomposition`` and scikit-learn's wrappers; a warning that
    pointed into those would also be shown once per place, not per call.
    """
    import sys

    libraries = _library_dirs()
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(libraries):
        frame, level = frame.f_back, level + 1
    if frame is None:  # called from eels_ae's own entry points only
        level = 1
    warnings.warn(message, category, stacklevel=level + 1)


# -- where a value is ---------------------------------------------------------
def pixel_namer(navigation_shape=None):
    """A function naming row ``r`` of unfolded data as a pixel.

    Parameters
    ----------
    navigation_shape : tuple of int or None
        Navigation shape in array order (``(rows, columns)`` for an image,
        ``(columns,)`` for a line scan). ``None``: rows of a 2-D array.

    Returns
    -------
    callable
        ``where(r) -> str``: ``"pixel (x=3, y=2)"``, ``"pixel (x=3)"``,
        ``"pixel at navigation indices (3, 2, 1)"`` or ``"row 17"``.
    """
    if navigation_shape is None:
        return lambda r: f"row {r}"
    shape = tuple(int(n) for n in navigation_shape)
    if len(shape) == 2 and shape[0] == 1:
        shape = shape[1:]  # a line scan held as one row of an image

    def where(r):
        idx = np.unravel_index(int(r), shape)[::-1]  # HyperSpy's (x, y, ...) order
        if len(idx) <= 2:
            names = ", ".join(f"{a}={i}" for a, i in zip("xy", idx, strict=False))
            return f"pixel ({names})"
        return f"pixel at navigation indices ({', '.join(str(i) for i in idx)})"

    return where


# -- values ---------------------------------------------------------------------
class NonFiniteDataError(ValueError):
    """The data hold NaN or inf; ``summary`` says how many and in which rows.

    ``where(row)`` names a row in the message (a pixel, see
    :func:`pixel_namer`); ``unit`` is what a row is called there.
    """

    def __init__(self, summary, where=None, unit="spectra"):
        self.summary = summary
        self.unit = unit
        super().__init__(summary.nonfinite_message(where, unit))

    def __reduce__(self):
        # Raised on a dask.distributed worker, pickled to the client: the
        # message as it was written (``where`` may not pickle).
        return (_nonfinite_error, (self.summary, self.unit, str(self)))


def _nonfinite_error(summary, unit, message):
    err = NonFiniteDataError.__new__(NonFiniteDataError)
    err.summary, err.unit = summary, unit
    ValueError.__init__(err, message)
    return err


@dataclass
class SpectraSummary:
    """One pass over the data: what fitting needs to know before it starts."""

    n_samples: int
    n_features: int
    max_abs: float
    n_nonfinite: int
    nonfinite_rows: np.ndarray
    zero_rows: np.ndarray
    #: Finite values below zero (over-subtracted backgrounds, say).
    n_negative: int = 0
    #: Finite values that are not whole numbers.
    n_fractional: int = 0
    #: Sum of the finite values.
    total: float = 0.0

    @property
    def mean_value(self) -> float:
        """Mean of the values (counts per channel, for counts)."""
        return self.total / max(self.n_samples * self.n_features, 1)

    @property
    def counts(self) -> bool:
        """Whether the data look like electron counts: whole numbers >= 0
        (what a Poisson likelihood assumes), with some non-zero."""
        return self.n_negative == 0 and self.n_fractional == 0 and self.max_abs > 0

    def nonfinite_message(self, where=None, unit="spectra") -> str:
        """Say how many non-finite values there are, and where."""
        rows = np.flatnonzero(self.nonfinite_rows)
        where = where or pixel_namer(None)
        shown = ", ".join(where(int(r)) for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return (
            f"the data contain {self.n_nonfinite} non-finite value(s) (NaN or inf) "
            f"in {len(rows)} {unit}: {shown}{more}. Replace or remove them first "
            "(for example s.data = numpy.nan_to_num(s.data), or crop the "
            "affected pixels)."
        )


def _block_summary(block):
    """Largest |value|, non-finite count per row, all-zero rows, the number
    of negative values and of fractional ones, and the sum: one block."""
    finite = np.isfinite(block)
    bad = block.shape[1] - finite.sum(axis=1)
    if bad.any():
        block = np.where(finite, block, 0)
    max_abs = max(float(block.max()), -float(block.min())) if block.size else 0.0
    fractional = (
        0
        if np.issubdtype(block.dtype, np.integer)
        else int(np.count_nonzero(block != np.round(block)))
    )
    return (
        max_abs,
        bad,
        ~block.any(axis=1),
        int(np.count_nonzero(block < 0)),
        fractional,
        float(block.sum(dtype=np.float64)),
    )


def summarize_spectra(X, block_rows=None) -> SpectraSummary:
    """Check the values of ``X`` (2-D) in one pass, block by block (dask-aware).

    Both numpy and dask arrays are scanned in blocks (:class:`RowStream`), so
    that temporary arrays stay small and a dask array is never held whole.
    """
    if is_dask_array(X):
        stream = RowStream(X, block_rows=block_rows)
        parts = [_block_summary(block) for _, block in stream.blocks()]
    else:
        step = block_rows or DEFAULT_BLOCK_BYTES // (4 * max(X.shape[1], 1))
        step = max(1, step)
        parts = [_block_summary(X[i : i + step]) for i in range(0, len(X), step)]
    max_abs = max((p[0] for p in parts), default=0.0)
    bad_rows = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    zero_rows = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, bool)
    return SpectraSummary(
        n_samples=int(X.shape[0]),
        n_features=int(X.shape[1]),
        max_abs=float(max_abs),
        n_nonfinite=int(bad_rows.sum()),
        nonfinite_rows=bad_rows > 0,
        zero_rows=zero_rows.astype(bool) & ~(bad_rows > 0),
        n_negative=sum(p[3] for p in parts),
        n_fractional=sum(p[4] for p in parts),
        total=sum(p[5] for p in parts),
    )


#: The largest magnitude accepted in spectra (far above any count rate, far
#: below float32's 3.4e38, whose square overflows).
LARGEST_VALUE = 1e15


def check_finite(X, where=None, unit="spectra", block_rows=None) -> SpectraSummary:
    """:func:`summarize_spectra`, raising :class:`NonFiniteDataError` on NaN/inf."""
    summary = summarize_spectra(X, block_rows)
    if summary.n_nonfinite:
        raise NonFiniteDataError(summary, where, unit)
    if summary.max_abs > LARGEST_VALUE:
        # Squares of such values overflow (an SVD "did not converge", a loss
        # of inf): say so rather than fail inside numpy or torch.
        raise ValueError(
            f"values up to {summary.max_abs:.3g} are too large to compute with "
            f"(float32 ends at 3.4e38, and eels_ae squares them): divide the data "
            f"by a constant (s.data / {summary.max_abs / 1e6:.1g}, say) first."
        )
    return summary


def check_numeric(X, name):
    """``X`` as a numpy array of numbers (a dask array is returned as it is).

    Arrays of Python objects holding numbers are converted. Raises a
    ``TypeError`` for sparse matrices, strings and other non-numbers, and a
    ``ValueError`` for complex data and dask arrays whose chunks have unknown
    sizes.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(
            f"{name}: sparse input is not supported (spectra are dense): convert "
            "it with X.toarray() first."
        )
    if is_dask_array(X):
        if any(np.isnan(c) for chunks in X.chunks for c in chunks):
            raise ValueError(
                f"{name}: the dask array has chunks of unknown size: call "
                "X.compute_chunk_sizes() (or s.data = s.data.compute_chunk_sizes()) "
                "first."
            )
        _check_dtype(X.dtype, name)
        return X
    X = np.asarray(X)
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} needs numeric data: {err}.") from None
    _check_dtype(X.dtype, name)
    return X


def _check_dtype(dtype, name):
    if dtype.kind == "c":
        raise ValueError(
            f"{name}: Complex data not supported: give real intensities (for "
            "example the modulus, numpy.abs(X))."
        )
    if dtype.kind not in "fiub":
        raise TypeError(f"{name} needs numeric data, got dtype {dtype}.")


def check_not_empty(shape, name):
    """Refuse arrays with no sample or no channel (scikit-learn's wording)."""
    for n, what in ((shape[0], "sample"), (shape[-1], "feature")):
        if n == 0:
            raise ValueError(
                f"{name}: found array with 0 {what}(s) (shape={tuple(shape)}) "
                "while a minimum of 1 is required."
            )


def check_n_features(estimator, n_features, unit="energy channels"):
    """Refuse data with another number of channels than the training data.

    One wording for every estimator: scikit-learn's ``"X has n features, but
    <Class> is expecting m features as input"``, with what to do about it.
    """
    expected = int(estimator.n_features_in_)
    if int(n_features) != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input: it was trained on "
            f"{expected} {unit} and the data have {n_features}. Crop or rebin the "
            "data to the training axis (or eels_ae.apply_model(s, model, "
            "energy_axis='resample'))."
        )


def as_2d_array(X, name):
    """Accept numpy-like or dask 2-D spectra ``(n_samples, n_channels)``."""
    X = check_numeric(X, name)
    if X.ndim != 2:
        raise ValueError(
            f"{name} expects a 2-D array of spectra (n_samples, n_channels), got "
            f"shape {X.shape}. Reshape your data, e.g. X.reshape(-1, X.shape[-1]) "
            "for an image, or X.reshape(1, -1) for a single spectrum."
        )
    check_not_empty(X.shape, name)
    return X


# -- parameters -------------------------------------------------------------------
def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)


@dataclass(frozen=True)
class Interval:
    """An integer or real number between ``low`` and ``high``.

    ``closed`` says which ends belong to it: ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"``.
    """

    kind: str = "int"  # "int" or "real"
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def __call__(self, v) -> bool:
        if not (_is_int(v) if self.kind == "int" else _is_real(v)):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and not (v >= self.low if left else v > self.low):
            return False
        return self.high is None or (v <= self.high if right else v < self.high)

    def __str__(self) -> str:
        what = "an integer" if self.kind == "int" else "a number"
        if self.kind == "int" and self.low == 1 and self.high is None:
            return "a positive integer"
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            a = "[" if self.closed in ("both", "left") else "("
            b = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {a}{lo:g}, {hi:g}{b}"
        if lo is not None:
            op = ">=" if self.closed in ("both", "left") else ">"
            return f"{what} {op} {lo:g}"
        if hi is not None:
            op = "<=" if self.closed in ("both", "right") else "<"
            return f"{what} {op} {hi:g}"
        return what


@dataclass(frozen=True)
class Options:
    """One of a few values."""

    values: tuple

    def __call__(self, v) -> bool:
        return any(v is o or (type(v) is type(o) and v == o) for o in self.values)

    def __str__(self) -> str:
        shown = [repr(v) for v in self.values]
        if len(shown) == 1:
            return shown[0]
        return "one of " + ", ".join(shown)


@dataclass(frozen=True)
class IntSequence:
    """A sequence of integers, each satisfying ``item``."""

    item: Interval = Interval("int", 1)
    min_length: int = 1

    def __call__(self, v) -> bool:
        if isinstance(v, (str, bytes)):
            return False
        try:
            items = tuple(v)
        except TypeError:
            return False
        return len(items) >= self.min_length and all(self.item(i) for i in items)

    def __str__(self) -> str:
        desc = str(self.item)
        if desc == "a positive integer":
            return "a sequence of positive integers"
        return f"a sequence of integers {desc.replace('an integer ', '')}"


@dataclass(frozen=True)
class Either:
    """Any of several constraints."""

    options: tuple

    def __call__(self, v) -> bool:
        return any(o(v) for o in self.options)

    def __str__(self) -> str:
        return " or ".join(str(o) for o in self.options)


class SeedLike:
    """``None``, an integer in ``[0, 2**32)`` or a numpy random state."""

    def __call__(self, v) -> bool:
        if v is None or isinstance(v, np.random.RandomState):
            return True
        return _is_int(v) and 0 <= v < 2**32

    def __str__(self) -> str:
        return "None, an integer in [0, 2**32) or a numpy.random.RandomState"


class Callables:
    """``None``, a callable or a sequence of callables."""

    def __call__(self, v) -> bool:
        if v is None or callable(v):
            return True
        try:
            return all(callable(c) for c in v)
        except TypeError:
            return False

    def __str__(self) -> str:
        return "None, a callable or a sequence of callables taking an EpochEnd"


def check_parameters(estimator, constraints):
    """Check ``estimator``'s parameters against ``constraints`` (name -> check).

    Raises
    ------
    ValueError
        ``"<Class>: <name> must be <what>, got <value>."`` for the first
        parameter that does not satisfy its constraint.
    """
    for name, constraint in constraints.items():
        value = getattr(estimator, name)
        if not constraint(value):
            raise ValueError(
                f"{type(estimator).__name__}: {name} must be {constraint}, got "
                f"{value!r}."
            )
