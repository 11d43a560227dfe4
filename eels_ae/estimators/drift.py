"""Unmixing with a per-pixel energy shift estimated jointly (drift-aware)."""

from __future__ import annotations

import numpy as np

from ..distributed import compute_in_memory, map_model_blocks
from ..endmembers import fcls, scaled_abundances
from ..energy_shift import check_shift_map, estimate_shifts, shift_spectra
from ..streaming import RowStream, flatten_image, is_dask_array
from ..training.threads import single_blas_thread
from ..validation import (
    Interval,
    Options,
    SeedLike,
    as_2d_array,
    check_finite,
    check_n_features,
    warn,
)
from .base import INTENSITY_DOC, UnmixingEstimator

__all__ = ["DriftAwareUnmixing"]

#: Fewest channels on which a shift can be measured (a derivative).
MIN_CHANNELS = 2


class DriftAwareUnmixing(UnmixingEstimator):
    __doc__ = """Linear unmixing with a per-pixel energy shift, estimated jointly.

    A spectrometer that drifts during the scan moves each spectrum along the
    energy axis (Pate et al. 2021 saw 1.5 eV across a scan); a drifted spectrum is
    not a linear mixture of the endmembers, so every linear method loses
    accuracy. This estimator starts from the endmembers of ``unmixer``, then
    alternates ``n_iter`` times: refine the endmembers by least squares over
    the spectra aligned with the current shifts (given their FCLS
    abundances), and measure each pixel's shift against its own
    reconstruction (Gauss-Newton with Poisson weights,
    :func:`eels_ae.energy_shift.estimate_shifts`), smoothing the shift map
    over the image; in the first half of the rounds, on an image, the
    offset each endmember took from the drift of its own pixels is put back
    into the map (a drift is smooth, phases are not: the map is fitted by a
    smooth surface minus one offset per endmember). ``channel_shift_`` holds
    the shifts (and
    ``s.learning_results.energy_shift`` the map in the energy axis' units
    after ``s.decomposition(algorithm="drift_aware")``).

    Use it for an instrumental drift. A chemical shift that belongs to one
    phase (an oxidation state) is not a drift: with it, unmix the spectra
    as they are, with one endmember per state.

    A drift has no absolute zero without a reference (the zero-loss peak):
    the shifts are given relative to their median, and the endmembers sit at
    the median energy of the scan.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    unmixer : {"auto", "mtaeu", "daeu", "nfindr", "vca"}, default "auto"
        The unmixing that gives the starting endmembers and, on the aligned
        spectra, the final ones (with its defaults and ``random_state``; a
        spatial one gets the image); abundances always come from FCLS. On
        counts, the autoencoders train with their Poisson loss on the
        aligned spectra too. ``"auto"`` (kept in ``unmixer_``): MTAEU on
        counts of fewer than 5 per channel on average, N-FINDR otherwise.
        At low dose MTAEU learns the endmembers from every pixel and its
        neighbours, where a pure-pixel method takes one noisy spectrum
        (oxide scenes at 200 counts per spectrum, 0.6 per channel: 3.2-5.3
        degrees over the four scenes of ``benchmarks/hard_cases.py``, NMF
        22-24; with DAEU inside 10.8-11.1 and with N-FINDR 12.8-15.2 on two
        of them, 2 seeds, measured before N-FINDR's endmembers were
        averaged over their pure pixels); on well-exposed pixels N-FINDR is
        as good or better and 4-6 times faster.
    n_iter : int, default 10
        Rounds of endmember refinement and shift measurement (on the
        synthetic K set with a 1.5 eV drift, shift map RMS error 0.14, 0.08
        and 0.06 eV after 5, 10 and 20).
    max_shift : float, default 10
        Largest shift searched, in channels (either way).
    smooth : float, default 2
        Standard deviation (pixels) of the Gaussian over which the shifts
        are pooled (each pixel weighted by its information, see
        :func:`eels_ae.energy_shift.estimate_shifts`) between rounds, when
        the spectra come as an image ``(rows, columns, channels)`` (as
        ``s.decomposition`` gives them): a drift
        changes slowly over the scan, while one pixel's shift is uncertain
        (0.29 eV RMS with the true endmembers on the synthetic K set at 22
        counts per channel). 0 turns it off; flat ``(n, channels)`` input is
        never smoothed.
{INTENSITY_DOC}    random_state : int, RandomState instance or None
        Passed to ``unmixer``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    unmixer_ : str
        The unmixer used (``unmixer``, or the choice of ``"auto"``).
    channel_shift_ : ndarray of shape (n_samples,)
        Shift of each training spectrum (channels; positive: towards higher
        energy), relative to the median.
    shift_check_ : dict
        ``claimed``, ``measured`` (channels) and ``trusted``: the map's
        difference between the pixels with the largest and with the smallest
        shifts, and the shift measured directly between their mean raw
        spectra (:func:`eels_ae.energy_shift.check_shift_map`). A map that
        claims 2 channels or more that the raw spectra do not show (off by
        more than half) follows something else than drift (thickness,
        composition): a warning says so, and it should not be used. Set by
        fits on arrays in memory (a dask array is not read again for it).
    n_features_in_ : int
    """.replace("{INTENSITY_DOC}", INTENSITY_DOC)

    _model_params = {
        "n_components": None,
        "unmixer": "auto",
        "n_iter": 10,
        "max_shift": 10.0,
        "smooth": 2.0,
        "random_state": None,
        "intensity": "auto",
    }
    _positional = ("n_components",)
    _constraints = {
        "unmixer": Options(("auto", "mtaeu", "daeu", "nfindr", "vca")),
        "n_iter": Interval("int", 1),
        "max_shift": Interval("real", 0, closed="neither"),
        "smooth": Interval("real", 0),
        "random_state": SeedLike(),
        "intensity": Options(("auto", "per_pixel", "fixed")),
    }

    def _base(self, counts=False):
        """A fresh ``unmixer``; on data that were ``counts`` before they were
        aligned, with its Poisson loss (where it has one): an interpolated
        count is no longer a whole number, so ``loss="auto"`` would not see
        them as counts."""
        from .. import registry

        est = registry.get(self.unmixer_).estimator(
            self.n_components, random_state=self.random_state, intensity=self.intensity_
        )
        # The result is checked once, as drift_aware's (on aligned spectra).
        est._checks_result = False
        params = est.get_params()
        if "show_progressbar" in params:
            est.set_params(show_progressbar=False)
        if counts and "loss" in params:
            est.set_params(loss="poisson")
        return est

    @single_blas_thread
    def fit(self, X, y=None, *, energy_axis=None):
        """Learn the endmembers and the shifts from spectra ``X``.

        Parameters
        ----------
        X : array-like or dask array, (n_samples, n_features) or (rows,
            columns, n_features)
            An image lets the shift map be smoothed (``smooth``).
        y : ignored
        energy_axis : dict, optional

        Returns
        -------
        self
        """
        X, self._fit_shape = flatten_image(X)
        return super().fit(X, energy_axis=energy_axis)

    def _fit(self, X, summary):
        if summary.n_features < MIN_CHANNELS:
            raise ValueError(
                f"{type(self).__name__} needs at least {MIN_CHANNELS} energy channels "
                f"to measure shifts, got n_features={summary.n_features}."
            )
        keep = ~summary.zero_rows
        shifts = np.zeros(summary.n_samples)
        shape = getattr(self, "_fit_shape", None)
        self.unmixer_ = self._chosen_unmixer(summary)
        M = self._unmixed(X, shape, summary.counts)
        offsets_on, last_size = True, np.inf
        for round_ in range(int(self.n_iter)):
            M, A = self._refined(_aligned(X, -shifts), M)
            measured, information = self._measure(X, M, shifts, self._steps(shape))
            # The offsets are a coarse correction, for the first half of
            # the rounds: kept for every round, the smooth surface takes
            # the map's finer detail from the endmembers (measured: shift
            # maps 1.1-1.3x the true ones). Offsets that the endmembers took
            # from the drift shrink from round to round as they are put
            # back; a per-phase bias of the measurement (a thickness
            # gradient) is found again every round and would add up
            # (measured: 0.4, 1.2, 4.9, 7.6 channels): growth stops them.
            if offsets_on and 2 * round_ < int(self.n_iter):
                corrected, offsets = _without_phase_offsets(
                    measured, information, A, shape
                )
                size = float(np.ptp(offsets))
                if size > _OFFSET_GROWTH * last_size:
                    offsets_on = False
                else:
                    measured, last_size = corrected, size
            shifts = self._smoothed(measured, information, shape)
            shifts -= np.median(shifts[keep])
        # The unmixer once more, on the aligned spectra: least squares with
        # estimated abundances biases the endmembers (errors in the
        # abundances), which is harmless for measuring shifts but not here.
        self.components_ = self._unmixed(_aligned(X, -shifts), shape, summary.counts)
        self.channel_shift_ = shifts
        if not is_dask_array(X):
            self.shift_check_ = self._check_shift_map(X, shifts)

    #: Mean counts per channel below which ``unmixer="auto"`` takes MTAEU.
    _low_dose_counts = 5.0

    def _chosen_unmixer(self, summary):
        """``unmixer``, or for ``"auto"``: MTAEU on counts of fewer than
        :attr:`_low_dose_counts` per channel (where a single pure pixel is
        mostly noise), N-FINDR otherwise (faster, and as good or better where
        pixels are well exposed: 2.1 vs 2.7 degrees on a K-edge chequerboard
        at 22 counts per channel)."""
        if self.unmixer != "auto":
            return self.unmixer
        if summary.counts and summary.mean_value < self._low_dose_counts:
            return "mtaeu"
        return "nfindr"

    def _unmixed(self, X, shape, counts):
        """Endmembers of ``unmixer`` fitted to spectra ``X`` (aligned
        ``counts``, possibly); a spatial one gets them as the image of
        ``shape`` (flat input: a line scan)."""
        from .. import registry

        est = self._base(counts=counts)
        if registry.get(self.unmixer_).input == "image" and shape is not None:
            X = X.reshape(*shape, X.shape[-1])
        return est.fit(X).components_

    def _refined(self, aligned, M):
        """Endmembers refined by least squares over all spectra, given their
        FCLS abundances with ``M`` (returned too).

        Pure-pixel methods take each endmember from one pixel, which brings
        that pixel's own shift with it: a per-endmember offset that the shift
        measurement cannot tell from drift (measured: shifts 0.62x the true
        ones with the unmixer's endmembers). Least squares averages each
        endmember over every pixel that holds it.
        """
        gram = np.zeros((len(M), len(M)))
        cross = np.zeros_like(M)
        abundances = np.zeros((len(aligned), len(M)))
        for lo, block in RowStream(aligned).blocks():
            A = fcls(block, M)
            abundances[lo : lo + len(A)] = A
            gram += A.T @ A
            cross += A.T @ block
        refined = np.linalg.lstsq(gram, cross, rcond=None)[0]
        if np.min(M) >= 0:
            refined = np.clip(refined, 0.0, None)
        return refined, abundances

    def _smoothed(self, shifts, information, shape):
        """The shift map pooled over neighbourhoods of an image of ``shape``
        (None: as is): each pixel's shift weighted by its information, so
        that a pixel with few counts or no edge counts for little.

        Pooling the Gauss-Newton equations this way, rather than smoothing
        per-pixel estimates, is what lets a shift be measured at a few
        hundred counts per spectrum, where single spectra give none.
        """
        if shape is None or not self.smooth:
            return shifts
        from scipy.ndimage import gaussian_filter

        def blur(values):
            return gaussian_filter(
                values.reshape(shape), float(self.smooth), mode="nearest"
            ).ravel()

        weight = blur(information)
        pooled = blur(information * shifts)
        return np.where(weight > 0, pooled / np.where(weight > 0, weight, 1), 0.0)

    def _steps(self, shape):
        """Gauss-Newton steps per pixel and round: one where the shifts are
        pooled over an image of ``shape`` (the pooled shift is the start of
        the next), four for single spectra."""
        return 1 if shape is not None and self.smooth else 4

    def _measure(self, X, M, start, steps):
        """Shifts of the spectra from their reconstructions by ``M`` after
        ``steps`` Gauss-Newton steps from ``start``, and their information
        (see :func:`estimate_shifts`)."""
        out = np.zeros((len(start), 2))
        for lo, block in RowStream(X).blocks():
            d0 = start[lo : lo + len(block)]
            model = self._reconstruct(shift_spectra(block, -d0), M)
            out[lo : lo + len(block)] = np.stack(
                estimate_shifts(
                    block,
                    model,
                    start=d0,
                    max_shift=float(self.max_shift),
                    n_steps=steps,
                    return_information=True,
                ),
                axis=1,
            )
        return out[:, 0], out[:, 1]

    def _reconstruct(self, aligned, M):
        # With a free scale per pixel (non-negative least squares) whatever
        # ``intensity`` says: a thicker pixel than any sum-to-one mixture
        # leaves a residual whose projection on the derivative reads as a
        # shift (0.34 eV RMS measured with a 1-2x thickness gradient).
        shares, scale = scaled_abundances(aligned, M)
        return scale[:, None] * (shares @ M)

    def shifts(self, X):
        """Energy shift of each spectrum of ``X`` against the fitted
        endmembers, in channels (relative to the median).

        Parameters
        ----------
        X : array-like or dask array, (n_samples, n_features) or (rows,
            columns, n_features)
            An image has its shift map smoothed (``smooth``).

        Returns
        -------
        ndarray, shape (n_samples,)
        """
        return self._shifts_of(*self._checked_image(X))

    def _shifts_of(self, X, shape):
        """:meth:`shifts` of checked spectra ``X`` of an image of ``shape``."""
        shifts = np.zeros(len(X))
        # Abundances of the aligned spectra, then shifts, a few times (one
        # pooled Gauss-Newton step each on an image).
        for _ in range(2 if shape is None or not self.smooth else 4):
            shifts = self._smoothed(*self._measured_by_model(X, shifts, shape), shape)
        return shifts - np.median(shifts)

    def abundances_and_scale(self, X):
        """Abundances (sum to one) and intensity scale of the spectra of ``X``
        aligned with their measured shifts (see :meth:`shifts`)."""
        return self.aligned_abundances(X)[:2]

    def reconstruct(self, X, return_abundances=False):
        """The spectra of ``X`` as the model explains them: the unmixed
        aligned spectrum shifted back by its measured shift (so that a
        held-out score compares like with like on drifting data).

        Parameters
        ----------
        X : array-like, (n_samples, n_features) or (rows, columns, n_features)
        return_abundances : bool, default False
            Also return the abundances they were made from.

        Returns
        -------
        ndarray, shape (n_samples, n_features)
        abundances : ndarray, shape (n_samples, n_components)
            With ``return_abundances``.
        """
        A, scale, shifts = self.aligned_abundances(X)
        aligned = np.asarray(scale)[:, None] * (np.asarray(A) @ self.components_)
        spectra = shift_spectra(aligned, np.asarray(shifts))
        return (spectra, A) if return_abundances else spectra

    @single_blas_thread
    def aligned_abundances(self, X):
        """Abundances, intensity scales and shifts of the spectra of ``X``.

        Three passes over the data: two measure the shifts (the map smoothed
        over the image in between, in memory: one value per pixel), one
        unmixes the spectra aligned with them. A dask array is processed
        chunk by chunk, on the workers of a ``dask.distributed`` cluster when
        one is dask's scheduler (the model travels as weights).

        Parameters
        ----------
        X : array-like or dask array, (n_samples, n_features) or (rows,
            columns, n_features)
            An image has its shift map smoothed (``smooth``).

        Returns
        -------
        abundances : ndarray, shape (n_samples, n_components)
        scale : ndarray, shape (n_samples,)
        shifts : ndarray, shape (n_samples,)
            In channels, relative to the median (see :meth:`shifts`).
        """
        X, shape = self._checked_image(X)
        shifts = self._shifts_of(X, shape)
        if not is_dask_array(X):
            self._check_shift_map(X, shifts, "the shift map of these spectra")
            return (*super().abundances_and_scale(_aligned(X, -shifts)), shifts)
        parts = compute_in_memory(
            map_model_blocks(
                self,
                X,
                "_aligned_abundance_block",
                chunks=(X.chunks[0], (self.components_.shape[0] + 1,)),
                dtype=np.float64,
                rows=(shifts,),
            )
        )
        return parts[:, :-1].copy(), parts[:, -1].copy(), shifts

    def _checked_image(self, X):
        """Spectra of ``X`` (fitted channels, finite for numpy input) and
        the image shape, or None for flat input."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "components_")
        X, shape = flatten_image(X)
        X = as_2d_array(X, type(self).__name__)
        check_n_features(self, X.shape[1])
        if not is_dask_array(X):
            check_finite(X)
        return X, shape

    def _measured_by_model(self, X, start, shape):
        """Shifts of ``X`` from the fitted endmembers, starting at ``start``,
        and their information; a dask array chunk by chunk (checked for
        NaN/inf on the way)."""
        steps = self._steps(shape)
        if not is_dask_array(X):
            return self._measure(X, self.components_, start, steps)
        out = compute_in_memory(
            map_model_blocks(
                self,
                X,
                "_shift_block",
                chunks=(X.chunks[0], (2,)),
                dtype=np.float64,
                rows=(start,),
                steps=steps,
            )
        )
        return out[:, 0].copy(), out[:, 1].copy()

    def _shift_block(self, block, start, steps):
        """Shifts and information of a block of spectra, as two columns (see
        :meth:`_measured_by_model`)."""
        check_finite(block)
        return np.stack(self._measure(block, self.components_, start, steps), 1)

    def _aligned_abundance_block(self, block, shifts):
        """Abundances and scales of a block aligned with its shifts, as
        columns ``(abundances..., scale)``."""
        A, scale = super().abundances_and_scale(_aligned(block, -shifts))
        return np.concatenate([A, scale[:, None]], axis=1)

    def _abundances(self, stream):
        return stream.map_blocks(lambda block: fcls(block, self.components_))

    def _check_shift_map(self, X, shifts, what="the shift map"):
        """The check of ``shifts`` against the raw spectra ``X`` (what
        ``shift_check_`` holds after a fit), and a warning when ``shifts``
        claim shifts of 2 channels or more that ``X`` does not show. Nothing
        is stored: a transform leaves the estimator as it is."""
        claimed, measured = check_shift_map(X, shifts)
        trusted = not (
            abs(claimed) >= _CHECKED_SHIFT
            and not abs(measured - claimed) <= 0.5 * abs(claimed)  # nan: not seen
        )
        if not trusted:
            warn(
                f"{type(self).__name__}: {what} cannot be trusted: it puts the "
                f"pixels with the largest shifts {claimed:.1f} channels above "
                "those with the smallest, but their mean raw spectra are "
                + (
                    f"{measured:.1f} channels apart"
                    if np.isfinite(measured)
                    else "not shifted by anything near that"
                )
                + ". The map follows something "
                "else than drift (thickness or composition); do not use it, "
                "and unmix without the drift correction (algorithm='nfindr' "
                "or 'daeu', say), or align the spectra first."
            )
        return {"claimed": claimed, "measured": measured, "trusted": bool(trusted)}

    def _check_result(self, rows, idx=None):
        # The model describes the spectra aligned with their shifts.
        if idx is not None:
            rows = _aligned(
                np.asarray(rows, dtype=np.float64), -self.channel_shift_[idx]
            )
        super()._check_result(rows)


#: Shift (channels) between the pixels with the largest and smallest shifts
#: from which a map is checked against the raw spectra: below, a map of
#: noise and composition (0.6-0.7 channels on drift-free oxide scenes) is
#: not worth a warning.
_CHECKED_SHIFT = 2.0

#: Growth of the per-endmember offsets from one round to the next that
#: stops their correction (see ``DriftAwareUnmixing._fit``).
_OFFSET_GROWTH = 1.5


def _without_phase_offsets(shifts, information, abundances, shape, max_degree=5):
    """Shifts with each endmember's own offset put back into the drift map.

    Shifts are measured against the endmembers, and an endmember learnt from
    drifted spectra sits at the mean drift of the pixels that hold it. Where
    the phases lie in different parts of the scan (layers across a drift
    ramp) most of the drift hides in those offsets: each pixel's shift is
    then measured relative to its phase, and the map jumps at every phase
    boundary (measured: shifts 0.36x the true ones with 8 channels of drift
    across layers). A drift is smooth and phases are not, so the map is
    fitted, weighted by each pixel's information, by a smooth surface (a
    polynomial in the pixel coordinates, of degree ``max_degree``, lower on
    small images) minus the offsets ``o`` mixed by each pixel's abundances;
    ``shifts + abundances @ o`` and ``o`` (the first endmember's 0) are
    returned. A chemical shift of one phase, learnt with its endmember,
    leaves no jump and is left alone.
    """
    no_offsets = (shifts, np.zeros(abundances.shape[1]))
    if shape is None or len(shape) != 2 or abundances.shape[1] < 2:
        return no_offsets
    degree = min(max_degree, (min(shape) - 1) // 3)
    if degree < 1:
        return no_offsets
    yy, xx = np.meshgrid(
        np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij"
    )
    surface = [
        (yy**i * xx**j).ravel()
        for i in range(degree + 1)
        for j in range(degree + 1 - i)
    ]
    # The constant is in the surface: the offsets keep K - 1 columns.
    design = np.column_stack(surface + [-a for a in abundances.T[1:]])
    w = np.sqrt(np.maximum(information, 0.0))
    coef = np.linalg.lstsq(design * w[:, None], shifts * w, rcond=None)[0]
    offsets = np.concatenate([[0.0], coef[len(surface) :]])
    return shifts + abundances @ offsets, offsets


def _aligned(X, channels):
    """``X`` with each row shifted by ``channels`` (numpy, or lazily for dask)."""
    if not is_dask_array(X):
        return shift_spectra(X, channels).astype(np.float32)
    import dask.array as da

    X = X.rechunk({1: -1})
    d = da.from_array(np.asarray(channels)[:, None], chunks=(X.chunks[0], (1,)))
    return da.map_blocks(
        lambda x, c: shift_spectra(x, c[:, 0]).astype(np.float32),
        X,
        d,
        dtype=np.float32,
    )
