"""VCA endmembers with fully constrained least-squares abundances."""

from __future__ import annotations

import numpy as np

from ..endmembers import average_pure_pixels, fcls, signal_subspace_endmembers
from ..streaming import RowStream
from ..validation import Either, Interval, Options, SeedLike
from .base import INTENSITY_DOC, UnmixingEstimator

__all__ = ["PurePixelUnmixing", "VCA"]


#: The ``purity`` parameter, as both pure-pixel docstrings give it.
PURITY_DOC = """    purity : float in (0, 1] or None, default 0.9
        Each endmember is the mean of the pixels whose abundance of it (FCLS
        with the picked spectra) is at least this, not the one picked
        pixel, whose noise points outwards (it is the most extreme of the
        cloud). None keeps the picked pixel, as the published algorithm.
        On the 4-component chequerboards at 10000 counts per spectrum:
        N-FINDR 1.45 -> 0.88 degrees (M/L set), 2.06 -> 1.08 (K set); where
        no pixel is pure in one phase the mean moves inwards (M/L: 2.47 ->
        2.57 degrees).
"""


class PurePixelUnmixing(UnmixingEstimator):
    """Endmembers picked among the spectra (then denoised), FCLS abundances.

    Subclasses implement ``_pick(rows, rng) -> (endmembers, picked)``: the
    endmembers (denoised spectra) and the rows they come from, and declare
    their parameters with the shared ones below.
    """

    #: Parameters (and constraints) every pure-pixel method has, after its own.
    _shared_params = {
        "purity": 0.9,
        "max_init_samples": 50000,
        "random_state": None,
        "intensity": "auto",
    }
    _shared_constraints = {
        "purity": Either((Options((None,)), Interval("real", 0, 1, closed="right"))),
        "max_init_samples": Interval("int", 1),
        "random_state": SeedLike(),
        "intensity": Options(("auto", "per_pixel", "fixed")),
    }

    def _fit(self, X, summary):
        rng = np.random.default_rng(_as_seed(self.random_state))
        stream = RowStream(X, block_rows=self._block_rows)
        idx, rows = stream.sample_rows(self._init_sample_size(summary.n_features), rng)
        keep = ~summary.zero_rows[idx]
        idx, rows = idx[keep], rows[keep]
        norm = None
        # Picked among the shapes (spectra / totals) where each spectrum has
        # its own intensity, on spectra as recorded (no negative value); not
        # after a background subtraction, whose totals carry the
        # background's extrapolation error (see
        # AutoencoderUnmixing._start_from_shapes: on the STO / LSMO file the
        # shapes' corners gave the top STO rows 0.25-0.31 La M, the raw
        # spectra's 0.02-0.03).
        if self._per_pixel and not summary.n_negative:
            rows, norm = _unit_sum(rows)
        endmembers, picked = self._pick(rows, rng)
        endmembers = np.asarray(endmembers, dtype=np.float64)
        if self.purity is not None:
            endmembers, pure = average_pure_pixels(
                rows, endmembers, float(self.purity), random_state=rng
            )
            if norm is not None:
                norm = np.array(
                    [
                        norm[p].mean() if p.any() else norm[i]
                        for p, i in zip(pure, picked, strict=True)
                    ]
                )
        elif norm is not None:
            norm = norm[np.asarray(picked)]
        if norm is not None:
            # Back to the intensity of the pixels each one comes from: the
            # relative scale of the endmembers sets what a share of the
            # abundances means, and with one thickness everywhere this gives
            # the endmembers (and abundances) of intensity="fixed".
            endmembers *= norm[:, None]
        self.components_ = endmembers
        self.indices_ = idx[np.asarray(picked)]

    def _abundances(self, stream):
        return stream.map_blocks(lambda block: fcls(block, self.components_))

    def _pick(self, rows, rng):  # pragma: no cover - abstract
        raise NotImplementedError


class VCA(PurePixelUnmixing):
    __doc__ = """Vertex Component Analysis + FCLS, as a scikit-learn estimator.

    VCA (Nascimento & Bioucas-Dias, "Vertex component analysis: a fast
    algorithm to unmix hyperspectral data", 2005 [Nascimento2005]_) picks the
    ``n_components`` most extreme spectra of the data cloud as endmembers (it assumes
    that some pixels are pure); fully constrained least squares then gives abundances
    that are non-negative and sum to one.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    snr : float, optional
        Signal-to-noise ratio in dB used to choose VCA's projection; estimated
        from the data when ``None``.
{PURITY_DOC}    max_init_samples : int, default 50000
        For data larger than this (or than 16 MiB of float32), VCA runs on a
        random subset of that many spectra; abundances are computed for all.
{INTENSITY_DOC}    random_state : int, RandomState instance or None
        Seeds the random directions of VCA and the subset.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Endmembers in the units of the data: the purest spectra found (the
        mean of the pixels at least ``purity`` pure), projected onto the
        data's signal subspace to remove their noise (as in the original
        VCA).
    indices_ : ndarray of shape (n_components,)
        Row of ``X`` (the purest pixel) behind each endmember.
    n_features_in_ : int

    Examples
    --------
    >>> import eels_ae
    >>> syn = eels_ae.data.chequerboard_spectrum_image("ml", random_state=0)
    >>> s = syn.signal
    >>> s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
    """.replace("{INTENSITY_DOC}", INTENSITY_DOC).replace("{PURITY_DOC}", PURITY_DOC)

    _model_params = {
        "n_components": None,
        "snr": None,
        **PurePixelUnmixing._shared_params,
    }
    _positional = ("n_components",)
    _constraints = {
        "snr": Either((Options((None,)), Interval("real"))),
        **PurePixelUnmixing._shared_constraints,
    }

    def _pick(self, rows, rng):
        return signal_subspace_endmembers(
            rows, self.n_components, random_state=rng, snr=self.snr
        )


def _unit_sum(rows):
    """Rows divided by their sums, and the sums.

    With a free scale per pixel, the spectra divided by their sums still lie
    on a simplex whose vertices are the endmembers divided by theirs, so VCA
    finds them whatever the thickness of each pixel; on the raw rows it picks
    the thickest pixels as the "purest" (on a 0.5-2x thickness gradient, one
    endmember 13 degrees off).
    """
    sums = rows.sum(axis=1, dtype=np.float64)
    sums = np.where(np.abs(sums) > 0, sums, 1.0)
    return (rows / sums[:, None]).astype(rows.dtype, copy=False), sums


def _as_seed(random_state):
    """An int seed for numpy's Generator from a scikit-learn random_state."""
    from ..training.seeding import seed_sequence

    return seed_sequence(random_state, 1)[0]
