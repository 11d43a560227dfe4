"""Which unmixing result to trust, without ground truth: held-out counts.

The counts of every pixel are split in two independent halves (binomial
thinning: for Poisson counts ``X``, ``X1 ~ Binomial(X, 1/2)`` and ``X2 = X -
X1`` are independent Poisson counts of half the rate; for data that are not
counts, Gaussian data fission with the noise level measured in each channel:
``X1 = X + Z``, ``X2 = X - Z``). Each candidate is fitted on ``X1`` and
scored on how well its reconstruction predicts ``X2``, which it never saw:
the Poisson deviance per value (or the squared error in units of the noise
variance). Noise cannot be fitted into that score, so the candidate that
explains the held-out half best is the one whose endmembers and abundances
describe the sample rather than its noise. Fits with other seeds give the
stability of each candidate (the angle between their matched endmembers);
on images, the spatial coherence of its abundance maps is measured too
(:func:`eels_ae.spatial.map_coherence`), shown beside the score but not
used for the pick: on the 28 benchmark scenes the more coherent
candidates had the better endmembers (median rank correlation -0.63
within a scene), but preferring the most coherent of the candidates within
the noise of the best score picked within 1.2x of the best name on 16
scenes, against 17 for the score alone.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone

from .estimators.ensemble import noise_sigma_per_channel
from .metrics import match_components, sad_matrix
from .spatial import map_coherence
from .validation import check_finite

__all__ = ["CandidateScore", "heldout_score", "score_candidates", "thinned"]


def thinned(X, random_state=0):
    """Two independent halves of ``X`` (numpy, channels last).

    Parameters
    ----------
    X : ndarray
        Counts (whole numbers >= 0) or other data.
    random_state : int

    Returns
    -------
    X1, X2 : ndarray (float64)
        Counts: ``X1 ~ Binomial(X, 1/2)``, ``X2 = X - X1``. Other data:
        ``X1 = X + Z``, ``X2 = X - Z`` with ``Z`` Gaussian of the noise level
        of each channel (:func:`~eels_ae.estimators.ensemble.noise_sigma_per_channel`).
    sigma : ndarray or None
        That noise level (None for counts), at least 1 % of its median over
        the channels.
    """
    X = np.asarray(X)
    rng = np.random.default_rng(random_state)
    flat = X.reshape(-1, X.shape[-1])
    summary = check_finite(flat)
    if summary.counts:
        X1 = rng.binomial(np.round(X).astype(np.int64), 0.5).astype(np.float64)
        return X1, X.astype(np.float64) - X1, None
    sigma = noise_sigma_per_channel(flat)
    # A channel measured noiseless (few spectra, a constant channel) would
    # weigh its squared errors by 1 / 0 in the score: floor it.
    positive = sigma[sigma > 0]
    floor = 0.01 * float(np.median(positive)) if positive.size else 1.0
    sigma = np.maximum(sigma, floor)
    Z = rng.standard_normal(X.shape) * sigma
    return X + Z, X - Z, sigma


def heldout_score(X2, predicted, sigma=None):
    """How badly ``predicted`` (rates fitted on the other half) explains the
    held-out half ``X2``, per value: the Poisson deviance (counts, ``sigma``
    None) or the squared error over twice the noise variance of each channel
    (the variance of ``X2`` under Gaussian fission). Lower is better; a
    perfect model of the rates scores about 1 on counts of a few per channel
    and 1 on other data.

    Returns
    -------
    mean : float
    per_row : ndarray
        The score of each spectrum (for a paired comparison of candidates).
    """
    X2 = np.asarray(X2, dtype=np.float64).reshape(-1, np.shape(X2)[-1])
    mu = np.asarray(predicted, dtype=np.float64).reshape(X2.shape)
    if sigma is None:
        mu = np.maximum(mu, 1e-9)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(X2 > 0, X2 * np.log(np.maximum(X2, 1e-300) / mu), 0.0)
        per_value = 2.0 * (term - (X2 - mu))
    else:
        per_value = (X2 - mu) ** 2 / np.maximum(2.0 * np.square(sigma), 1e-300)
    per_row = per_value.mean(axis=1)
    return float(per_row.mean()), per_row


@dataclass
class CandidateScore:
    """One candidate's evidence (see :func:`score_candidates`)."""

    name: str
    heldout: float
    heldout_rows: np.ndarray = field(repr=False)
    seed_angle: float
    seconds: float
    components: np.ndarray = field(repr=False)
    error: str = ""
    #: Spatial coherence of the abundance maps of the scored fit (images
    #: only; :func:`eels_ae.spatial.map_coherence`), NaN otherwise.
    coherence: float = float("nan")


def score_candidates(
    X,
    candidates,
    seeds=(0, 1),
    random_state=0,
    image=None,
    progress=None,
    channels=None,
    background=None,
):
    """Fit every candidate on one half of ``X`` and score it on the other.

    Parameters
    ----------
    X : ndarray, (n_samples, n_features) or (rows, columns, n_features)
    candidates : dict
        Name -> unfitted unmixing estimator (its ``random_state`` is set to
        each of ``seeds``).
    seeds : sequence of int
        One fit per seed; the first is scored, the others give the
        stability (median angle between matched endmembers, degrees).
    random_state : int
        Seeds the split.
    image : callable, optional
        ``image(estimator) -> bool``: whether it takes the image rather than
        spectra (spatial estimators).
    progress : object with ``update(n)``, optional
        Told of every fit (a tqdm bar).
    channels : ndarray of bool, optional
        The channels unmixed and scored (default: all).
    background : callable, optional
        ``background(half) -> array like half``: the background of one half,
        fitted on that half alone (a pre-edge power law). The candidates are
        fitted on the training half less its background; the held-out half is
        predicted as its own background plus the reconstruction, so the
        score stays a Poisson deviance of recorded counts.

    Returns
    -------
    list of CandidateScore
        A candidate that failed has ``heldout`` inf and its error.
    """
    X1, X2, sigma = thinned(X, random_state)
    keep = np.ones(X.shape[-1], bool) if channels is None else np.asarray(channels)
    offset = 0.0
    if background is not None:
        X1 = X1 - background(X1)
        offset = background(X2)[..., keep].reshape(-1, int(keep.sum()))
    X1, X2 = X1[..., keep], X2[..., keep]
    if sigma is not None:
        sigma = sigma[keep]
    n_features = X1.shape[-1]
    out = []
    for name, estimator in candidates.items():
        takes_image = bool(image and image(estimator)) and X.ndim == 3
        data = X1 if takes_image else X1.reshape(-1, n_features)
        fits, seconds = [], 0.0
        try:
            for seed in seeds:
                est = clone(estimator)
                if "random_state" in est.get_params(deep=False):
                    est.set_params(random_state=int(seed))
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(data)
                    if not fits:
                        predicted, A = est.reconstruct(data, return_abundances=True)
                        coherence = _coherence(A, X1.shape)
                seconds += time.perf_counter() - start
                fits.append(est)
                if progress is not None:
                    progress.update(1)
        except Exception as err:  # noqa: BLE001 - a candidate may not fit the data
            out.append(
                CandidateScore(
                    name,
                    np.inf,
                    np.full(X2.reshape(-1, n_features).shape[0], np.inf),
                    np.nan,
                    seconds,
                    np.empty((0, n_features)),
                    f"{type(err).__name__}: {err}",
                )
            )
            continue
        M = fits[0].components_
        predicted = offset + np.asarray(predicted).reshape(-1, n_features)
        mean, rows = heldout_score(X2, predicted, sigma)
        angles = [
            float(np.degrees(np.median(np.diag(_matched(M, f.components_)))))
            for f in fits[1:]
        ]
        out.append(
            CandidateScore(
                name,
                mean,
                rows,
                float(np.median(angles)) if angles else np.nan,
                seconds,
                np.asarray(M),
                coherence=coherence,
            )
        )
    return out


def _coherence(abundances, shape):
    """:func:`~eels_ae.spatial.map_coherence` of ``abundances`` as maps of
    an image of ``shape``, NaN for spectra that are not one."""
    if len(shape) != 3 or min(shape[:2]) < 2:
        return float("nan")
    return map_coherence(np.asarray(abundances).reshape(shape[0], shape[1], -1))


def _matched(reference, other):
    return sad_matrix(reference, other[match_components(reference, other)])
