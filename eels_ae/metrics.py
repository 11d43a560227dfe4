"""Unmixing quality metrics: spectral angle (SAD), NMSE, component matching.

Definitions follow source 004:

* ``SAD(a, a_hat) = arccos(a . a_hat / (|a| |a_hat|))`` per endmember; it is
  blind to the scale of each spectrum, which unmixing cannot recover anyway.
* ``NMSE(Z, Z_hat) = |Z - Z_hat|_F**2 / |Z|_F**2`` per abundance map.

Estimated components come in arbitrary order, so they are first matched to
the true ones by a Hungarian assignment on the SAD matrix, and the same
permutation is then applied to the abundances.

Every function accepts NumPy arrays or HyperSpy signals (their ``.data`` is
used). Endmembers are ``(R, B)``: one spectrum per row, as returned by
``s.get_decomposition_factors()`` or ``SyntheticSI.endmembers``. Abundances are
``(R, n_pixels)`` or ``(R, height, width)``: component index first, as
returned by ``s.get_decomposition_loadings()`` or ``SyntheticSI.abundances``
(``s.learning_results.loadings`` is ``(n_pixels, R)``: pass its transpose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "UnmixingScores",
    "abundance_rmse",
    "match_components",
    "nmse",
    "sad_matrix",
    "spectral_angle",
    "unmixing_scores",
]


def _data(x):
    """The array behind ``x`` (HyperSpy signal, lazy signal or array-like)."""
    if hasattr(x, "axes_manager") and hasattr(x, "data"):
        x = x.data
    return np.asarray(x, dtype=float)


def _endmembers(x, name):
    arr = _data(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (components, channels); got shape {arr.shape}. "
            "Pass one spectrum per row."
        )
    return arr


def _abundances(x, name):
    arr = _data(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must be (components, pixels) or (components, height, "
            f"width); got shape {arr.shape}."
        )
    # Maps (R, h, w) -> (R, h*w) in C order, matching HyperSpy's unfolding.
    return arr.reshape(arr.shape[0], -1)


def _check_same_shape(true, est, what):
    if true.shape == est.shape:
        return
    hint = ""
    if est.T.shape == true.shape or (
        est.ndim == 2 and true.ndim == 2 and est.shape[0] == true.shape[1]
    ):
        hint = (
            " It looks transposed: pass est.T (e.g. learning_results.loadings.T)"
            " so that the component index comes first."
        )
    raise ValueError(
        f"{what}: true has shape {true.shape} but estimate has shape "
        f"{est.shape}; they must match.{hint}"
    )


def spectral_angle(a, b, degrees=False):
    """Spectral angle distance between two spectra, or row-wise.

    Parameters
    ----------
    a, b : array-like or HyperSpy signal
        Vectors of the same length ``B``, or arrays whose last axis is the
        spectral axis (broadcast against each other): one angle per row.
    degrees : bool
        Return degrees instead of radians.

    Returns
    -------
    float or numpy.ndarray
        Angle in ``[0, pi]`` (``nan`` where a vector is all zero).
    """
    a, b = _data(a), _data(b)
    if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"spectral_angle needs vectors of equal length along the last axis; "
            f"got shapes {a.shape} and {b.shape}."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = a / np.linalg.norm(a, axis=-1, keepdims=True)
        ub = b / np.linalg.norm(b, axis=-1, keepdims=True)
    # 2 atan2(|ua - ub|, |ua + ub|) equals arccos(ua . ub) but stays accurate
    # for tiny angles, where arccos of a rounded cosine near 1 loses half the
    # digits (a scaled copy gives ~1e-16 rather than ~1e-8).
    angle = 2.0 * np.arctan2(
        np.linalg.norm(ua - ub, axis=-1), np.linalg.norm(ua + ub, axis=-1)
    )
    if degrees:
        angle = np.degrees(angle)
    return float(angle) if np.ndim(angle) == 0 else angle


def sad_matrix(true, est, degrees=False):
    """Spectral angles between every true and every estimated spectrum.

    Parameters
    ----------
    true : array-like or HyperSpy signal, shape (R_true, B)
    est : array-like or HyperSpy signal, shape (R_est, B)
    degrees : bool
        Return degrees instead of radians.

    Returns
    -------
    numpy.ndarray
        Shape ``(R_true, R_est)``; entry ``[i, j]`` is SAD(true[i], est[j]).
    """
    t = _endmembers(true, "true endmembers")
    e = _endmembers(est, "estimated endmembers")
    if t.shape[1] != e.shape[1]:
        raise ValueError(
            f"true endmembers have {t.shape[1]} channels but the estimates have "
            f"{e.shape[1]}: compare spectra on the same energy axis."
        )
    return spectral_angle(t[:, None, :], e[None, :, :], degrees=degrees)


def match_components(true_endmembers, est_endmembers):
    """Order estimated components to match the true ones (minimum total SAD).

    Parameters
    ----------
    true_endmembers : array-like or HyperSpy signal, shape (R_true, B)
    est_endmembers : array-like or HyperSpy signal, shape (R_est, B)
        ``R_est >= R_true``; surplus estimates are left out.

    Returns
    -------
    numpy.ndarray of int
        ``perm`` of length ``R_true`` such that ``est[perm][i]`` is the
        estimate assigned to ``true[i]``.
    """
    t = _endmembers(true_endmembers, "true endmembers")
    e = _endmembers(est_endmembers, "estimated endmembers")
    if e.shape[0] < t.shape[0]:
        raise ValueError(
            f"only {e.shape[0]} estimated components for {t.shape[0]} true ones: "
            "unmix with at least as many components as the ground truth has."
        )
    cost = sad_matrix(t, e)
    # An all-zero spectrum has no angle; make it the worst possible match.
    cost = np.nan_to_num(cost, nan=np.pi)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)].astype(int)


def nmse(true_abundances, est_abundances):
    """Normalised mean squared error of each abundance map.

    Parameters
    ----------
    true_abundances, est_abundances : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``, same shape, already
        in matching component order.

    Returns
    -------
    numpy.ndarray
        ``|Z_r - Z_hat_r|_F**2 / |Z_r|_F**2`` for each component ``r``
        (``inf`` or ``nan`` where a true map is identically zero).
    """
    t = _abundances(true_abundances, "true abundances")
    e = _abundances(est_abundances, "estimated abundances")
    _check_same_shape(t, e, "nmse")
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((t - e) ** 2).sum(axis=1) / (t**2).sum(axis=1)


def abundance_rmse(true, est):
    """Root-mean-square error over all abundance entries.

    Parameters
    ----------
    true, est : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``, same shape, already
        in matching component order.

    Returns
    -------
    float
    """
    t = _abundances(true, "true abundances")
    e = _abundances(est, "estimated abundances")
    _check_same_shape(t, e, "abundance_rmse")
    return float(np.sqrt(np.mean((t - e) ** 2)))


@dataclass(frozen=True, eq=False)
class UnmixingScores:
    """Scores of one unmixing result against the ground truth.

    Also readable like a dict (``scores["mean_sad_deg"]``); :meth:`as_dict`
    gives a plain dict.

    Attributes
    ----------
    permutation : numpy.ndarray of int
        ``est[permutation]`` is aligned with the true components.
    sad : numpy.ndarray
        Spectral angle of each matched component (radians).
    sad_deg : numpy.ndarray
        The same in degrees.
    mean_sad_deg : float
        Mean of ``sad_deg``.
    nmse : numpy.ndarray
        NMSE of each matched abundance map.
    mean_nmse : float
        Mean of ``nmse``.
    abundance_rmse : float
        RMSE over all matched abundance entries.
    """

    permutation: np.ndarray
    sad: np.ndarray
    sad_deg: np.ndarray
    mean_sad_deg: float
    nmse: np.ndarray
    mean_nmse: float
    abundance_rmse: float

    def __getitem__(self, key):
        return getattr(self, key)

    def as_dict(self):
        """The scores as a plain ``dict``."""
        return asdict(self)


def unmixing_scores(true_endmembers, true_abundances, est_endmembers, est_abundances):
    """Match components on SAD, then score endmembers and abundances.

    Parameters
    ----------
    true_endmembers : array-like or HyperSpy signal, shape (R, B)
    true_abundances : array-like or HyperSpy signal
        Shape ``(R, n_pixels)`` or ``(R, height, width)``.
    est_endmembers : array-like or HyperSpy signal, shape (R_est, B)
        ``R_est >= R``.
    est_abundances : array-like or HyperSpy signal
        Shape ``(R_est, n_pixels)`` or ``(R_est, height, width)``, in the same
        component order as ``est_endmembers``.

    Returns
    -------
    UnmixingScores
    """
    t_e = _endmembers(true_endmembers, "true endmembers")
    e_e = _endmembers(est_endmembers, "estimated endmembers")
    t_a = _abundances(true_abundances, "true abundances")
    e_a = _abundances(est_abundances, "estimated abundances")
    if t_a.shape[0] != t_e.shape[0]:
        raise ValueError(
            f"true abundances have {t_a.shape[0]} components but true endmembers "
            f"have {t_e.shape[0]}: pass matching ground truth."
        )
    if e_a.shape[0] != e_e.shape[0]:
        hint = ""
        if e_a.shape[1] == e_e.shape[0]:
            hint = " Pass the abundances transposed (components first)."
        raise ValueError(
            f"estimated abundances have {e_a.shape[0]} components but estimated "
            f"endmembers have {e_e.shape[0]}; they must correspond.{hint}"
        )
    perm = match_components(t_e, e_e)
    sad = np.atleast_1d(spectral_angle(t_e, e_e[perm]))
    e_a = e_a[perm]
    _check_same_shape(t_a, e_a, "unmixing_scores abundances")
    per_map = nmse(t_a, e_a)
    sad_deg = np.degrees(sad)
    return UnmixingScores(
        permutation=perm,
        sad=sad,
        sad_deg=sad_deg,
        mean_sad_deg=float(np.mean(sad_deg)),
        nmse=per_map,
        mean_nmse=float(np.mean(per_map)),
        abundance_rmse=abundance_rmse(t_a, e_a),
    )
