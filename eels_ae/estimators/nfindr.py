"""N-FINDR endmembers with fully constrained least-squares abundances."""

from __future__ import annotations

from ..endmembers import nfindr, project_on_signal_subspace
from ..validation import Either, Interval, Options
from .base import INTENSITY_DOC
from .vca import PURITY_DOC, PurePixelUnmixing

__all__ = ["NFINDR"]


class NFINDR(PurePixelUnmixing):
    __doc__ = """N-FINDR + FCLS, as a scikit-learn estimator.

    N-FINDR (Winter 1999 [Winter1999]_; compared on EELS in Kalinin's
    lecture notes) picks the ``n_components`` spectra that span the simplex
    of largest volume in the leading principal components of the data (it
    assumes that some
    pixels are pure, as VCA does); the picked spectra are projected onto the
    data's signal subspace to remove their noise, and fully constrained
    least squares gives abundances that are non-negative and sum to one.
    No maintained Python package offers it (pysptools, which did, no longer
    works with current SciPy).

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    max_iter : int or None, default None
        Passes over the vertices at most (``3 * n_components`` when None);
        the search stops earlier once a pass changes nothing.
{PURITY_DOC}    max_init_samples : int, default 50000
        For data larger than this (or than 16 MiB of float32), the search runs
        on a random subset of that many spectra; abundances are computed for
        all.
{INTENSITY_DOC}    random_state : int, RandomState instance or None
        Seeds the principal component analysis and the subset.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Endmembers in the units of the data.
    indices_ : ndarray of shape (n_components,)
        Row of ``X`` (the purest pixel) behind each endmember.
    n_iter_ : int
        Passes over the vertices made by the search.
    n_features_in_ : int

    Examples
    --------
    >>> import eels_ae
    >>> syn = eels_ae.data.chequerboard_spectrum_image("ml", random_state=0)
    >>> s = syn.signal
    >>> s.decomposition(algorithm="nfindr", output_dimension=3, print_info=False)
    """.replace("{INTENSITY_DOC}", INTENSITY_DOC).replace("{PURITY_DOC}", PURITY_DOC)

    _model_params = {
        "n_components": None,
        "max_iter": None,
        **PurePixelUnmixing._shared_params,
    }
    _positional = ("n_components",)
    _constraints = {
        "max_iter": Either((Options((None,)), Interval("int", 1))),
        **PurePixelUnmixing._shared_constraints,
    }

    def _pick(self, rows, rng):
        raw, picked, self.n_iter_ = nfindr(
            rows,
            self.n_components,
            random_state=rng,
            max_iter=self.max_iter,
            return_n_iter=True,
        )
        return project_on_signal_subspace(rows, raw, self.n_components, rng), picked
