"""An ensemble of one unmixing estimator: the result with its uncertainty.

The first member is the estimator fitted on the data as recorded: it is the
result. Every other member is a copy with its own seed, fitted on its own
resample of the data (a parametric bootstrap: new Poisson counts drawn with
the measured counts as rates, or Gaussian noise of the measured level for
data that are not counts). Their endmembers are matched to the result's (a
permutation by spectral angle), and how far they fall from it is the
result's uncertainty: per endmember channel and per pixel.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..metrics import match_components, spectral_angle
from ..models.variational import _MAD_NORMAL, _SECOND_DIFF_VAR
from ..streaming import RowStream, flatten_image, is_dask_array
from ..training.progress import progress_bar
from ..validation import (
    Interval,
    Options,
    SeedLike,
    as_2d_array,
    check_finite,
    warn,
)
from .base import UnmixingEstimator

__all__ = ["EnsembleUnmixing", "noise_sigma_per_channel", "resampled"]

#: Spectra on which the noise of data that are not counts is measured.
_NOISE_ROWS = 2000
#: Median angle (degrees) between the resampled members' endmembers and the
#: result's above which the result is said to depend on the noise. Measured
#: with N-FINDR, VCA, DAEU and uDAS (5 members) on nine scenes
#: (``benchmarks/ensemble.py``): 1.2-9.4 degrees where the result's endmember
#: error was 1.0-9.4 degrees, 12.1-25.2 where it was 7.9-14.6 (oxide layers
#: at 200-300 counts per spectrum), and there the spreads ran against the
#: error (rank correlation down to -0.49).
UNSTABLE_DEGREES = 10.0


class EnsembleUnmixing(UnmixingEstimator):
    """An unmixing result with its uncertainty, from an ensemble of fits.

    ``s.decomposition(algorithm=NAME, output_dimension=R, ensemble=N)``
    builds one; it works on any eels_ae unmixing estimator.

    The first member is ``estimator`` fitted on the data as they are, with
    its own ``random_state``: its endmembers and abundances are the result
    (the same as a single fit). The ``n_members - 1`` others are clones with
    other seeds, each fitted on its own resample of the data:

    - counts (whole numbers >= 0): new counts drawn from Poisson
      distributions whose rates are the measured counts (the parametric
      bootstrap of count data: how far a result moves from one draw of the
      counts to another estimates how far it is from the truth);
    - other data (background-subtracted, gain-normalised): the data plus
      Gaussian noise of the level measured in each channel (robust second
      differences along the energy axis).

    Their endmembers are matched to the result's (Hungarian assignment on
    spectral angles). ``endmember_std_`` and ``abundance_std_`` are their
    root-mean-square deviations from the result, each member's abundances
    taken on its own resample (so that a pixel's own noise counts as well as
    the endmembers' spread). The mean of the members is not the result:
    fitted on data with the noise of a resample on top of the recorded
    noise, it was worse than the single fit (N-FINDR on an oxide scene of
    1000 counts per spectrum: 8.1 against 4.4 degrees).

    Parameters
    ----------
    estimator : UnmixingEstimator
        The unmixing estimator to repeat (unfitted; a fitted one is cloned).
    n_members : int, default 5
        Fits in all (at least 2): the result and ``n_members - 1`` resampled
        ones. The cost is ``n_members`` fits.
    resample : {"auto", "poisson", "gaussian", "none"}, default "auto"
        How the other members' data differ: ``"auto"`` is ``"poisson"`` for
        counts and ``"gaussian"`` for other data; ``"none"`` fits them on the
        data as they are (only the seeds differ: the spread is then the
        method's own instability, not the noise's effect).
    random_state : int, RandomState instance or None
        Seeds the members' seeds and resamples (the first member keeps the
        estimator's own ``random_state`` when it has one).
    show_progressbar : bool or None, default None
        One bar over the members (the members' own bars are off). None
        follows HyperSpy's preference.

    Attributes
    ----------
    members_ : list of UnmixingEstimator
        The fitted members, the result first (each with its components in
        its own order).
    member_orders_ : ndarray of shape (n_members, n_components)
        ``members_[i].components_[member_orders_[i]]`` are in the result's
        order (and so are the columns of its abundances).
    components_ : ndarray of shape (n_components, n_features)
        The first member's endmembers.
    endmember_std_ : ndarray of shape (n_components, n_features)
        Root-mean-square deviation of the other members' matched endmembers
        from them.
    abundance_std_ : ndarray of shape (n_samples, n_components)
        Root-mean-square deviation of the other members' abundances of each
        training spectrum (on their resamples) from the result's.
    member_angles_ : ndarray of shape (n_members - 1, n_components)
        Spectral angle (degrees) of each other member's endmember to the
        result's: how much the members agree.
    endmember_angle_ : ndarray of shape (n_components,)
        The median of ``member_angles_`` over the members: the uncertainty
        of each endmember in degrees. It followed the result's real
        endmember error (1.2-9.4 degrees where that was 1.0-9.4, 12.1-25.2
        where it was 7.9-14.6; ``benchmarks/results/ensemble.md``); above 10
        degrees (:data:`UNSTABLE_DEGREES`) a warning says that the result
        and its spreads cannot be trusted.
    resample_ : str
        The resampling used (``resample``, or the choice of ``"auto"``).
    fit_checks_ : dict
        The result checks of the first member (see :class:`UnmixingEstimator`).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> import eels_ae
    >>> syn = eels_ae.data.chequerboard_spectrum_image("ml", random_state=0)
    >>> X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    >>> ens = eels_ae.EnsembleUnmixing(eels_ae.NFINDR(3, random_state=0),
    ...                                n_members=5, random_state=0)
    >>> A = ens.fit_transform(X)
    >>> ens.abundance_std_.shape == A.shape
    True
    >>> bool(np.allclose(A, eels_ae.NFINDR(3, random_state=0).fit_transform(X)))
    True
    """

    _model_params = {
        "estimator": None,
        "n_members": 5,
        "resample": "auto",
        "random_state": None,
        "show_progressbar": None,
    }
    _positional = ("estimator",)
    _constraints = {
        "n_members": Interval("int", 2),
        "resample": Options(("auto", "poisson", "gaussian", "none")),
        "random_state": SeedLike(),
        "show_progressbar": Options((None, True, False)),
    }

    def _check_parameters(self):
        super()._check_parameters()
        if not isinstance(self.estimator, UnmixingEstimator) or isinstance(
            self.estimator, EnsembleUnmixing
        ):
            raise TypeError(
                "EnsembleUnmixing: estimator must be an eels_ae unmixing estimator "
                f"(DAEU, VCA, ...), got {type(self.estimator).__name__}."
            )
        self.estimator._check_parameters()

    # -- fitting -----------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Fit ``estimator`` on ``X`` (the result) and ``n_members - 1``
        clones with other seeds on resamples of ``X``; match them to the
        result and keep their deviations from it.

        Parameters
        ----------
        X : array-like or dask array
            What ``estimator`` takes: spectra ``(n_samples, n_features)``, or
            an image ``(rows, columns, channels)`` for a spatial estimator.
        y : ignored
        **fit_params
            Passed to every member's ``fit`` (``energy_axis``,
            ``navigation_shape``).

        Returns
        -------
        self
        """
        self._check_parameters()
        spectra = as_2d_array(flatten_image(X)[0], type(self).__name__)
        summary = check_finite(spectra)
        self.resample_ = self._chosen_resample(summary)
        sigma = (
            noise_sigma_per_channel(spectra) if self.resample_ == "gaussian" else None
        )
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=(int(self.n_members), 2))
        own = self.estimator.get_params(deep=False).get("random_state")
        members, abundances, said = [], [], {}
        fixed = {}
        name = type(self.estimator).__name__
        with progress_bar(
            int(self.n_members), f"ensemble of {name}", self.show_progressbar
        ) as bar:
            for i, (seed, noise_seed) in enumerate(seeds):
                # The first member is the single fit: the estimator's own
                # seed, on the data as recorded.
                member = clone(self.estimator).set_params(
                    **self._member_params(
                        own if i == 0 and own is not None else int(seed)
                    ),
                    **fixed,
                )
                if i:
                    # Only the result's checks are reported (the members'
                    # warnings are about their resamples): not run at all.
                    member._checks_result = False
                how = "none" if i == 0 else self.resample_
                data = resampled(X, how, sigma, int(noise_seed))
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    A = member.fit_transform(data, **fit_params)
                if i == 0:  # what the others say is about their resamples
                    said = {str(w.message): w.category for w in seen}
                if not fixed:
                    fixed = _auto_choices(member)
                members.append(member)
                abundances.append(np.asarray(A, dtype=np.float64))
                bar.update(1)
        for message, category in said.items():
            warn(message, category)
        self._match(members, abundances)
        self._warn_unstable()
        self.n_features_in_ = members[0].n_features_in_
        self.energy_axis_ = fit_params.get("energy_axis")
        if hasattr(members[0], "fit_checks_"):
            self.fit_checks_ = members[0].fit_checks_
        return self

    def _warn_unstable(self):
        unstable = np.flatnonzero(self.endmember_angle_ > UNSTABLE_DEGREES)
        if not unstable.size:
            return
        listed = ", ".join(
            f"{k} ({self.endmember_angle_[k]:.0f} deg)" for k in unstable
        )
        warn(
            f"EnsembleUnmixing: the members' endmembers differ from the result's "
            f"by more than {UNSTABLE_DEGREES:g} degrees (median) for "
            f"component{'s' if unstable.size > 1 else ''} {listed}: the result "
            "depends on the noise of the counts, and neither it nor its "
            "spreads can be trusted there (on such scenes the spreads ran "
            "against the real error). Use more counts (bin pixels), fewer "
            "components, or a method made for low dose (algorithm='mtaeu')."
        )

    def _chosen_resample(self, summary):
        if self.resample != "auto":
            if self.resample == "poisson" and summary.n_negative:
                raise ValueError(
                    "EnsembleUnmixing: resample='poisson' needs counts (>= 0), but "
                    f"the data hold {summary.n_negative} negative values: use "
                    "resample='gaussian' (e.g. after a background subtraction)."
                )
            return self.resample
        return "poisson" if summary.counts else "gaussian"

    def _member_params(self, seed):
        params = self.estimator.get_params(deep=False)
        out = {}
        if "random_state" in params:
            out["random_state"] = seed
        if "show_progressbar" in params:
            out["show_progressbar"] = False
        return out

    def _match(self, members, abundances):
        """Put every member's endmembers (and abundances) in the result's
        order; keep the result, the deviations from it and the members."""
        reference = members[0].components_
        orders = [match_components(reference, m.components_) for m in members]
        orders[0] = np.arange(len(reference))
        others = np.stack(
            [m.components_[o] for m, o in zip(members[1:], orders[1:], strict=True)]
        )
        A = np.stack([a[:, o] for a, o in zip(abundances, orders, strict=True)])
        self.members_ = members
        # Applied to the members' outputs: a network's encoder gives its
        # abundances in its own order, which reordering its endmembers
        # would not change.
        self.member_orders_ = np.stack(orders)
        self.components_ = np.array(reference, copy=True)
        self.endmember_std_ = _rms(others - reference)
        self.abundance_std_ = _rms(A[1:] - A[0])
        self.member_angles_ = spectral_angle(others, reference, degrees=True)
        self.endmember_angle_ = np.median(self.member_angles_, axis=0)

    # -- applying ----------------------------------------------------------
    def abundances_and_scale(self, X):
        """The result's abundances (and intensity scales) of ``X``: those of
        the first member, in the result's order."""
        check_is_fitted(self, "members_")
        A, scale = self.members_[0].abundances_and_scale(X)
        return np.asarray(A, dtype=np.float64)[:, self.member_orders_[0]], scale

    @property
    def _per_pixel(self):
        members = getattr(self, "members_", None)
        return bool(members) and members[0]._per_pixel

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def resampled(X, how, sigma=None, seed=0):
    """A resample of ``X`` (numpy or dask, any shape, channels last).

    Parameters
    ----------
    X : array-like or dask array
    how : {"poisson", "gaussian", "none"}
        New Poisson counts with ``X`` as rates (negative values as 0), or
        ``X`` plus Gaussian noise of standard deviation ``sigma`` per
        channel, or ``X`` itself.
    sigma : ndarray of shape (n_channels,), optional
        For ``"gaussian"``.
    seed : int
        A dask array draws each chunk from its own generator, seeded with
        ``seed`` and the chunk's position (the same result however it is
        computed).

    Returns
    -------
    Array of the same shape and kind (float32 for integer input).
    """
    if how == "none":
        return X
    if is_dask_array(X):
        if how == "gaussian":
            X = X.rechunk({X.ndim - 1: -1})  # every chunk holds every channel
        return X.map_blocks(
            _resampled_block,
            how=how,
            sigma=sigma,
            seed=seed,
            dtype=_float_type(X.dtype),
        )
    return _resampled_block(np.asarray(X), how, sigma, seed)


def _resampled_block(block, how, sigma, seed, block_id=None):
    rng = np.random.default_rng([seed, *(block_id or ())])
    dtype = _float_type(block.dtype)
    if how == "poisson":
        return rng.poisson(np.clip(block, 0, None)).astype(dtype)
    return (block + rng.standard_normal(block.shape) * sigma).astype(dtype)


def noise_sigma_per_channel(spectra, max_rows=_NOISE_ROWS):
    """Noise standard deviation of each channel of spectra whose signal is
    smooth along the energy axis.

    The median absolute deviation of second differences along the energy
    axis (white noise of variance ``s**2`` gives them ``6 s**2``), channel
    by channel over (a sample of) the spectra; the end channels take their
    neighbours' value.

    Parameters
    ----------
    spectra : array-like or dask array, shape (n_samples, n_channels)
    max_rows : int
        Spectra drawn for the estimate.

    Returns
    -------
    ndarray of shape (n_channels,)
    """
    _, rows = RowStream(spectra).sample_rows(max_rows, np.random.default_rng(0))
    rows = np.asarray(rows, dtype=np.float64)
    n = rows.shape[1]
    if n < 3:
        # No second difference: the spread of each channel (an upper bound).
        return rows.std(axis=0)
    d2 = np.diff(rows, n=2, axis=1)
    mad = np.median(np.abs(d2 - np.median(d2, axis=0)), axis=0)
    inner = mad / _MAD_NORMAL / np.sqrt(_SECOND_DIFF_VAR)
    return np.concatenate([inner[:1], inner, inner[-1:]])


def _float_type(dtype):
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def _auto_choices(member):
    """What a fitted member chose for its ``"auto"`` parameters
    (``intensity_``, ``unmixer_``...): the other members are given the same,
    so that all describe the data with one model."""
    return {
        name: getattr(member, f"{name}_")
        for name, value in member.get_params(deep=False).items()
        if isinstance(value, str) and value == "auto" and hasattr(member, f"{name}_")
    }


def _rms(deviations):
    """Root mean square over the first axis (the members)."""
    return np.sqrt(np.mean(np.square(deviations), axis=0))
