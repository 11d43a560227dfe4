"""Checks of an unmixing result against the data it was fitted on.

An unmixing can end in a result that means nothing without any error: a
network that gave up on data it cannot represent (mostly negative spectra
after an over-subtracted background), endmembers that coincide (data with
fewer components than asked for), an endmember no pixel holds, or one far
outside the data whose share is compensated by a near-zero one (the
sum-to-one fractions then mean nothing), or endmembers that are negative
spectra. :func:`check_unmixing_result` measures each on a sample of the
spectra and says what it found; the estimators warn with it after every fit
(``fit_checks_``).

The bounds were set on the results of VCA, N-FINDR, DAEU and uDAS on
chequerboards (1e3-1e5 counts), oxide scenes (200-1000 counts, drift 0-4
channels), thickness line scans, the low-dose O K image and the bundled real
files raw and background-subtracted, for every unmixing name, where none
fires (the values nearest the bounds: residual excess 0.019, smallest angle
between endmembers 2.6 degrees, smallest largest abundance 0.43, norms
0.39-1.85x the median spectrum's, negative channels 1 %); on the same real
file over-subtracted and on rank-1 data they fire (residual excess
0.24-0.81, angles 0.0-0.45 degrees, largest abundance 0.05, norms down to
0.00, negative channels 96-100 %).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ResultChecks",
    "check_unmixing_result",
    "few_pixel_components",
    "few_pixel_map",
]

#: Relative residual (of the whole sample, ``|X - X_model| / |X|``) beyond
#: that of the best linear model of the same rank (truncated SVD) above which
#: the result explains the data much worse than a linear model could.
RESIDUAL_EXCESS = 0.05
#: Angle (degrees) below which two endmembers are the same spectrum.
SAME_ENDMEMBER_DEGREES = 1.0
#: An endmember no pixel holds more of than this is not a phase of the data.
UNUSED_SHARE = 0.15
#: Endmember norms, relative to the median spectrum's (below) and the
#: largest spectrum's (above), outside which the scale split is degenerate.
NEAR_ZERO_NORM = 0.05
FAR_NORM = 3.0
#: An endmember negative (below 5 % of its largest magnitude) in more than
#: this fraction of its channels is a negative spectrum.
NEGATIVE_CHANNELS = 0.2


class ResultChecks(NamedTuple):
    """What :func:`check_unmixing_result` measured, and its messages."""

    relative_residual: float
    svd_relative_residual: float
    smallest_angle: float
    largest_abundance: np.ndarray
    relative_norm: np.ndarray
    negative_channels: np.ndarray
    problems: tuple

    def as_dict(self):
        """Plain numbers and lists (what estimators keep in ``fit_checks_``,
        and model files carry)."""
        return {
            k: (np.asarray(v).tolist() if isinstance(v, np.ndarray | tuple) else v)
            for k, v in self._asdict().items()
        }


def _angles(M):
    norms = np.linalg.norm(M, axis=1)
    unit = M / np.where(norms > 0, norms, 1.0)[:, None]
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def check_unmixing_result(X, abundances, scale, components):
    """Measure an unmixing result against spectra ``X``.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        A sample of the spectra the model was fitted on (a few hundred are
        enough), in the units of ``components``.
    abundances : ndarray, shape (n_samples, n_components)
    scale : ndarray, shape (n_samples,)
        Intensity scale per spectrum (1 for a fixed intensity).
    components : ndarray, shape (n_components, n_features)

    Returns
    -------
    ResultChecks
        ``problems`` holds one sentence per problem found (empty when the
        result passes every check).
    """
    X = np.asarray(X, dtype=np.float64)
    M = np.asarray(components, dtype=np.float64)
    A = np.asarray(abundances, dtype=np.float64)
    R = M.shape[0]
    model = np.asarray(scale, dtype=np.float64)[:, None] * (A @ M)
    total = float(np.linalg.norm(X)) or 1.0
    residual = float(np.linalg.norm(X - model)) / total
    singular = np.linalg.svd(X, compute_uv=False)
    svd_residual = float(np.sqrt(np.sum(singular[R:] ** 2))) / total
    angles = _angles(M)
    pairs = np.triu_indices(R, 1)
    smallest = float(angles[pairs].min()) if R > 1 else 180.0
    largest = A.max(axis=0) if len(A) else np.zeros(R)
    row_norms = np.linalg.norm(X, axis=1)
    median_norm = float(np.median(row_norms)) or 1.0
    norms = np.linalg.norm(M, axis=1)
    relative = norms / median_norm
    magnitude = np.abs(M).max(axis=1, keepdims=True)
    negative = (M < -0.05 * magnitude).mean(axis=1)

    problems = []
    if residual - svd_residual > RESIDUAL_EXCESS:
        problems.append(
            f"the result explains the spectra much worse than a linear model of "
            f"the same rank could (relative residual {residual:.2f}, against "
            f"{svd_residual:.2f} for the best rank-{R} fit): its endmembers and "
            "abundances do not describe these data"
            + (
                f" ({np.mean(X < 0):.0%} of the values are negative: an "
                "over-subtracted background?)"
                if np.mean(X < 0) > 0.2
                else ""
            )
        )
    same = [
        (int(i), int(j))
        for i, j in zip(*pairs, strict=True)
        if angles[i, j] < SAME_ENDMEMBER_DEGREES
    ]
    if same:
        listed = ", ".join(f"{i} and {j} ({angles[i, j]:.2f} deg)" for i, j in same)
        problems.append(
            f"components {listed} are the same spectrum: the data hold fewer "
            f"distinct components than the {R} asked for"
        )
    far = [
        k
        for k in range(R)
        if relative[k] < NEAR_ZERO_NORM
        or norms[k] > FAR_NORM * float(row_norms.max(initial=0.0))
    ]
    unused = [k for k in range(R) if largest[k] < UNUSED_SHARE and k not in far]
    if far:
        problems.append(
            "the scale split between endmembers is degenerate: component(s) "
            + ", ".join(
                f"{k} ({relative[k]:.3g}x the median spectrum's norm)" for k in far
            )
            + " lie far from every spectrum, so the fractions that sum to one "
            "mean nothing"
        )
    if unused:
        problems.append(
            "no pixel holds more than "
            + ", ".join(f"{largest[k]:.0%} of component {k}" for k in unused)
            + ": it is not a phase of these data"
        )
    neg = [k for k in range(R) if negative[k] > NEGATIVE_CHANNELS]
    if neg:
        problems.append(
            "component(s) "
            + ", ".join(
                f"{k} (negative in {negative[k]:.0%} of the channels, down to "
                f"{M[k].min():.3g})"
                for k in neg
            )
            + " are negative spectra, which no phase is: the data are negative "
            "there (a background subtracted too far?)"
        )
    return ResultChecks(
        residual, svd_residual, smallest, largest, relative, negative, tuple(problems)
    )


#: Pixels below which a map held by a few of them is not judged (a short
#: line scan: three pixels are a real share of it).
FEW_PIXELS_MIN_MAP = 50


def few_pixel_map(values, top=3, share=0.5):
    """The pixels (at most ``top``, largest first) of a map that is a few
    pixels, or None: flagged when its ``top`` largest deviations from the map's median
    hold more than ``share`` of its squared deviations (an X-ray spike's or
    hot pixel's component, not a phase's)."""
    dev = (np.ravel(np.asarray(values, dtype=np.float64)) - np.median(values)) ** 2
    order = np.argsort(dev)[::-1][:top]
    total = dev.sum()
    if not (total > 0 and dev[order].sum() > share * total):
        return None
    # The pixels that make it so (a tenth of the map's deviations or more).
    return order[dev[order] >= 0.1 * total]


def few_pixel_components(abundances, top=3, share=0.5):
    """Components whose map is a few pixels: an X-ray spike or a hot pixel
    that took the place of a phase (:func:`few_pixel_map` of each column).

    Parameters
    ----------
    abundances : ndarray, shape (n_pixels, n_components)
        Every pixel's abundances (the loadings of a decomposition).
    top, share : int, float
        See :func:`few_pixel_map`.

    Returns
    -------
    dict
        Component -> indices of its ``top`` pixels (largest first); empty
        for images of fewer than :data:`FEW_PIXELS_MIN_MAP` pixels.
    """
    A = np.array(abundances, dtype=np.float64)
    if A.ndim != 2 or len(A) < FEW_PIXELS_MIN_MAP:
        return {}
    missing = np.isnan(A)
    if missing.all():
        return {}
    if missing.any():  # pixels left out (navigation_mask): the median
        A[missing] = np.broadcast_to(np.nanmedian(A, axis=0), A.shape)[missing]
    found = {}
    for k in range(A.shape[1]):
        pixels = few_pixel_map(A[:, k], top, share)
        if pixels is not None:
            found[k] = pixels
    return found
