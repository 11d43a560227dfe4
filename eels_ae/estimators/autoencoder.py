"""What the unmixing autoencoders share: the endmembers live in a non-negative
linear decoder started from pure pixels (N-FINDR or VCA), the encoder warms up
first, and the endmembers are put back in data units after training."""

from __future__ import annotations

import numpy as np
import torch

from ..endmembers import (
    average_pure_pixels,
    fcls,
    scaled_abundances,
    signal_subspace_endmembers,
)
from ..models.unmixing import OBJECTIVES
from ..streaming import RowStream, flatten_image
from ..validation import (
    Either,
    Interval,
    Options,
    warn,
)
from .base import UnmixingEstimator
from .neural import NeuralEstimator, TrainingData
from .vca import _unit_sum

__all__ = [
    "AUTOENCODER_PARAMS_DOC",
    "LOSS_DOC",
    "autoencoder_doc",
    "autoencoder_params",
    "AutoencoderUnmixing",
    "SpatialAutoencoderUnmixing",
]

#: The parameters every unmixing autoencoder has (numpydoc).
AUTOENCODER_PARAMS_DOC = """\
    init : {"nfindr", "vca", "random"}, default "nfindr"
        Decoder (endmember) initialisation: N-FINDR or VCA endmembers, each
        averaged over the pixels at least 0.9 pure in it
        (:func:`eels_ae.endmembers.average_pure_pixels`) and projected on
        the signal subspace, or the network's random weights.
        N-FINDR by default: over 5 seeds of the synthetic M/L set (dose 1e4)
        it left uDAS, MTAEU and CNNAEU at a mean endmember SAD of 1.7, 1.3
        and 1.7 degrees (worst 1.9, 1.6, 2.3), VCA at 3.0, 2.0 and 2.7 (worst
        6.3, 5.7, 5.9): a bad VCA pick is not trained away.
    n_init : int, default 1
        Independent trainings (different seeds); the lowest training loss
        wins (a run that collapses onto fewer effective components fits
        worse).
    warmup_epochs : int
        After a geometric start (N-FINDR or VCA): epochs that train the
        encoder alone, the decoder frozen at the start, before both train
        together.
    decoder_lr_factor : float or None, default None
        Learning rate of the decoder (endmembers) relative to the encoder's.
        None: 0.1 after a geometric start (refine a good start; 0.02 for
        uDAS and VAEU), 0.02 after a well-exposed one (a signal-to-noise
        ratio per channel above sqrt(10), i.e. more than 10 counts per
        channel, measured off the signal subspace), 1.0 with
        ``init="random"``, and for DAEU, MTAEU and CNNAEU also 1.0 when the
        start is noisy (the Poisson loss on spectra of a few counts per
        channel, where a pure pixel is mostly noise).
"""


#: The ``loss`` parameter of the unmixing autoencoders (numpydoc).
LOSS_DOC = """\
    loss : {"auto", "poisson", "original"}, default "auto"
        What training minimises. ``"poisson"``: the Poisson deviance of the
        counts with a free intensity per spectrum
        (:func:`eels_ae.models.unmixing.poisson_deviance`), which weighs each
        channel by its counts; ``"original"``: the published loss of the
        network (spectral angle for DAEU, MTAEU and CNNAEU, squared error for
        uDAS, Gaussian for VAEU). ``"auto"``: ``"poisson"`` for counts (whole
        numbers >= 0, as recorded), ``"original"`` otherwise (e.g. after a
        background subtraction) and after ``init="random"``. The choice
        is kept in ``loss_``.
"""

#: Fitted attributes every unmixing autoencoder has beside ``components_``
#: and ``model_`` (numpydoc).
FITTED_DOC = """\
    device_, loss_curve_, n_epochs_, best_loss_, init_losses_, scale_,
    loss_, start_misfit_, misfit_, n_features_in_
        As :class:`DAEU`.
"""

#: What the spatial autoencoders say about flat input (numpydoc Notes).
LINE_SCAN_NOTE = """\
    Spectra ``(n, channels)`` given without ``navigation_shape`` are taken as
    a line scan (one row of pixels).
"""


def autoencoder_doc(doc):
    """Fill the shared sections of an unmixing autoencoder's docstring."""
    from .base import INTENSITY_DOC
    from .neural import TRAINING_PARAMS_DOC

    for key, text in (
        ("{AUTOENCODER_PARAMS_DOC}", AUTOENCODER_PARAMS_DOC),
        ("{LOSS_DOC}", LOSS_DOC),
        ("{INTENSITY_DOC}", INTENSITY_DOC),
        ("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC),
        ("{FITTED_DOC}", FITTED_DOC),
        ("{LINE_SCAN_NOTE}", LINE_SCAN_NOTE),
    ):
        doc = doc.replace(key, text)
    return doc


def autoencoder_params(
    warmup_epochs, intensity="auto", init="nfindr", loss="auto", **own
):
    """``_model_params`` of an unmixing autoencoder: the shared parameters
    (in one order) around its own (``loss=None``: the network has no choice
    of loss)."""
    params = {
        "n_components": None,
        "init": init,
        "n_init": 1,
        "warmup_epochs": warmup_epochs,
        "decoder_lr_factor": None,
        **own,
        "loss": loss,
        "max_init_samples": 50000,
        "intensity": intensity,
    }
    if loss is None:
        del params["loss"]
    return params


#: Least abundance of a pixel averaged into a geometric start's endmember.
_START_PURITY = 0.9


class AutoencoderUnmixing(NeuralEstimator, UnmixingEstimator):
    """Base of the unmixing autoencoders (DAEU, uDAS, MTAEU, CNNAEU, VAEU).

    A subclass implements ``_network(n_features)`` (a
    :class:`eels_ae.models.unmixing.LinearMixingNet`) and, for another
    input than spectra, ``_prepare``. Abundances come from fully constrained
    least squares with the learned endmembers (``transform``).
    """

    #: Constraints of the parameters the unmixing autoencoders share.
    _shared_constraints = {
        "loss": Options(("auto", *OBJECTIVES)),
        "init": Options(("vca", "nfindr", "random")),
        "n_init": Interval("int", 1),
        "warmup_epochs": Interval("int", 0),
        "decoder_lr_factor": Either((Options((None,)), Interval("real", 0))),
        "max_init_samples": Interval("int", 1),
        "intensity": Options(("auto", "per_pixel", "fixed")),
    }

    _fit_input_doc = """\
X : array-like or dask array, shape (n_samples, n_features)
    One spectrum per row. A dask array is streamed block by block and never
    loaded whole.
"""

    # -- fit sequence --------------------------------------------------------
    def _prepare(self, X, energy_axis=None):
        X, summary = self._check_unmixing_input(X)
        self.energy_axis_ = energy_axis
        mask = ~summary.zero_rows if summary.zero_rows.any() else None
        stream = RowStream(
            X, block_rows=self._block_rows, scale=self.scale_, row_mask=mask
        )
        usable = summary.n_samples - int(summary.zero_rows.sum())
        return TrainingData(
            stream, usable, {"summary": summary, "mask": mask, "spectra": stream}
        )

    def _check_unmixing_input(self, X):
        """Checks every unmixing autoencoder makes; sets ``n_features_in_`` and
        ``scale_``."""
        X, summary = self._check_fit_input(X)
        self._check_sample(X, summary)
        negative = summary.n_negative / max(summary.n_samples * summary.n_features, 1)
        if negative > 0.5:
            warn(
                f"{negative:.0%} of the values are negative (an over-subtracted "
                f"background?): {type(self).__name__}'s endmembers are non-negative "
                "spectra, so it cannot represent these data and its result will be "
                "poor. Unmix the raw counts, or subtract a background that leaves "
                "the data positive."
            )
        self.n_features_in_ = summary.n_features
        self.scale_ = summary.max_abs
        self.loss_ = self._objective(summary)
        return X, summary

    def _objective(self, summary):
        """The training loss ``loss`` asks for on data of ``summary``."""
        loss = getattr(self, "loss", "original")
        if loss == "auto":
            # From a random decoder the Poisson loss did not find the
            # endmembers (DAEU on a 32 x 32 M/L image: 44 degrees, 9-15
            # with the spectral angle): it starts from a geometric start.
            counts = summary.counts and getattr(self, "init", None) != "random"
            return "poisson" if counts else "original"
        if loss == "poisson" and summary.n_negative:
            raise ValueError(
                f"loss='poisson' needs counts >= 0, but the data hold "
                f"{summary.n_negative} negative value(s) (a subtracted "
                "background?). Unmix the raw counts, or use loss='original'."
            )
        return loss

    def _n_restarts(self):
        return int(self.n_init)

    def _training_setup(self, n_samples):
        batch_size, device = super()._training_setup(n_samples)
        if self.init == "random":
            # One step per epoch leaves a random decoder where it started.
            batch_size = max(2, min(batch_size, n_samples // 4))
        return batch_size, device

    def _build(self, data, rng):
        net = self._network(data.extra["summary"].n_features)
        net.objective = self.loss_
        if self.init != "random":
            start = self._geometric_start(data, rng)
            net.set_endmembers(start)
            # Kept (not in the state dict) for the check that training
            # improved on it (``_finish``).
            net.geometric_start = start
        # After the start: how fast the decoder may leave it depends on the
        # noise the start measured.
        factor = self.decoder_lr_factor
        if factor is None:
            factor = self._default_decoder_lr_factor(data)
        net.decoder_lr_factor = float(factor)
        return net

    def _network(self, n_features):  # pragma: no cover - abstract
        raise NotImplementedError

    def _warm_up(self, module, run, desc):
        if self.init == "random" or not self.warmup_epochs:
            return None
        # Encoder alone first: the decoder keeps the geometric start.
        module.freeze_endmembers(True)
        try:
            return run(
                desc=desc + " (encoder)", max_epochs=self.warmup_epochs, tol=None
            )
        finally:
            module.freeze_endmembers(False)

    def _finish(self, data):
        endmembers = self.model_.endmembers.detach().cpu().numpy().astype(np.float64)
        factor = self._intensity_factor(self._calibration_stream(data))
        self.components_ = endmembers * self.scale_ * factor
        # One sample of the spectra (one read of a dask array) for both, and
        # no copy of it kept beside the temporaries of each (memory of lazy
        # fits). The check comes first: a fit with its own intensity per
        # spectrum does not see the overall scale that _mean_total sets.
        _, rows = data.extra["spectra"].sample_rows(4096, np.random.default_rng(0))
        rows = rows[np.abs(rows).sum(axis=1) > 0]
        start = self.model_.__dict__.pop("geometric_start", None)
        if start is not None and self._checks_result:
            self._check_against_start(rows[:1024], start)
        rows *= np.float32(self.scale_)
        self.components_ *= self._mean_total(rows)
        self._check_result(rows)

    def _check_against_start(self, rows, start, margin=0.1):
        """Warn when training ended with a worse fit to the data than the
        geometric start it came from, by more than ``margin``: the network
        did not earn its cost, and nothing else would say so.

        The fit is that of the objective of training on a sample of the
        (scaled) training spectra ``rows``, each spectrum fitted with its own
        intensity by non-negative least squares. A diverged or collapsed run
        fits several times worse; a normal one within 0.5 % of its start
        (15 fits on the oxide scenes), so the margin is 10 %.
        """
        if not len(rows):
            return

        def misfit(M, step=128):
            # By small blocks: its float64 temporaries must not add to the
            # memory of a lazy fit.
            num = den = 0.0
            for lo in range(0, len(rows), step):
                x = rows[lo : lo + step].astype(np.float64)
                shares, scale = scaled_abundances(x, M)
                model = scale[:, None] * (shares @ M)
                if self.loss_ == "poisson":
                    num += _poisson_terms(x, model)
                    den += float(x.sum())
                else:
                    num += float(((x - model) ** 2).sum())
                    den += float((x**2).sum())
            return num / den if den > 0 else 0.0

        before = misfit(np.asarray(start, dtype=np.float64))
        after = misfit(self.components_ / self.scale_)
        self.start_misfit_, self.misfit_ = before, after
        if after > before * (1 + margin) + 1e-12:
            name = type(self).__name__
            what = (
                "Poisson deviance per count"
                if self.loss_ == "poisson"
                else "relative squared error"
            )
            warn(
                f"{name} ended with a worse fit to the data than its "
                f"{self.init!r} start ({what} {after:.4g} against {before:.4g}): "
                "training moved the endmembers away from a better solution "
                "(a collapsed component?). Compare with the start's own result "
                f"(algorithm={self.init!r}), or try n_init=3 or another "
                "random_state."
            )

    def _mean_total(self, rows):
        """Mean total of the non-negative least-squares fits of a sample of
        non-zero spectra ``rows`` (in data units) with ``components_``: 1 when the
        endmembers have the scale at which abundances summing to one fit the
        data on average.

        The factor from the encoder's abundances is only as good as the
        encoder: measured on a synthetic M/L image, uDAS's was 20 % off and
        its FCLS abundance NMSE 0.62 (0.05 after this correction); DAEU's
        moved by 0-5 %.
        """
        if not len(rows):
            return 1.0
        _, totals = scaled_abundances(rows, self.components_)
        mean = float(np.mean(totals))
        return mean if np.isfinite(mean) and mean > 0 else 1.0

    #: Decoder learning-rate factor after a geometric start
    #: (``decoder_lr_factor=None``).
    _start_decoder_lr_factor = 0.1

    #: Counts per channel (mean over the spectra) below which a geometric
    #: start is taken as noisy and the decoder learns at the encoder's rate
    #: (None: never). Measured with the Poisson loss on the low-dose oxide
    #: scenes (:func:`eels_ae.data.oxide_scene`, TiMnFe layers, tuned;
    #: CrCoNi grains, checked): at 0.6 counts per channel, DAEU 10.7 ->
    #: 8.1 and 14.2 -> 8.5 degrees, MTAEU 9.9 -> 5.0 on the second; at 3
    #: counts per channel MTAEU 2.7 -> 1.3 but DAEU 4.5 -> 5.2; at 50 (the
    #: chequerboard M/L set) DAEU 2.1 -> 2.9.
    _noisy_start_counts = None

    #: Signal-to-noise ratio per channel (mean over the channels, squared:
    #: counts per channel for Poisson data) above which the geometric start
    #: is well exposed and the decoder learns at
    #: ``_quiet_start_decoder_lr_factor`` at most. Its pure-pixel average
    #: then holds the endmembers to a fraction of a degree, and a faster
    #: decoder takes up the encoder's errors instead: on the 4-component
    #: chequerboards (dose 1e4, 50 and 11 counts per channel; 2 seeds) the
    #: averaged start with this factor took DAEU from 1.34 to 0.84 degrees
    #: on the M/L set and 2.64 -> 1.01 on the K set, MTAEU 1.44 -> 1.06 and
    #: 1.80 -> 1.11 (the averaged start at 0.1: DAEU 1.88 and 1.65).
    _quiet_start_counts = 10.0
    _quiet_start_decoder_lr_factor = 0.02

    def _default_decoder_lr_factor(self, data):
        """``decoder_lr_factor=None``: slow after a geometric start (refine a
        good start), slower after a well-exposed one, as fast as the encoder
        after a random one or a noisy one (few counts per channel: a pure
        pixel is mostly noise)."""
        if self.init == "random":
            return 1.0
        if self._noisy_start_counts is not None and self.loss_ == "poisson":
            if data.extra["summary"].mean_value < self._noisy_start_counts:
                return 1.0
        factor = self._start_decoder_lr_factor
        if data.extra.get("start_snr2", 0.0) >= self._quiet_start_counts:
            factor = min(factor, self._quiet_start_decoder_lr_factor)
        return factor

    #: Pick the geometric start among spectra divided by their totals (robust to
    #: thickness changes, see :func:`eels_ae.endmembers.signal_subspace_endmembers`).
    _normalised_start = False

    def _calibration_stream(self, data):
        """Samples for the intensity calibration (the training samples)."""
        return data.stream

    def _geometric_start(self, data, rng):
        summary = data.extra["summary"]
        n = self._init_sample_size(summary.n_features)
        idx, rows = data.extra["spectra"].sample_rows(n, rng)
        rows = rows[~summary.zero_rows[idx]]
        shapes = self._start_from_shapes(summary)
        endmembers, _ = signal_subspace_endmembers(
            rows,
            self.n_components,
            random_state=rng,
            normalise=shapes,
            method=self.init,
        )
        endmembers = self._averaged_start(rows, endmembers, data, rng, shapes)
        return np.clip(endmembers, 0.0, None)

    def _start_from_shapes(self, summary):
        """Whether the start is picked and averaged among the spectra divided
        by their totals: where each spectrum has its own intensity
        (per-pixel scale, or VAEU), on spectra without negative values (as
        recorded, not background-subtracted). On a thickness ramp the raw
        spectra put the thickest pixels at the corners (the K chequerboard
        with a 1-2x ramp: autoencoders 4.1-4.4 degrees, 0.8-1.2 from the
        shapes). After a background subtraction a total is a small difference
        whose error (the background's extrapolation) changes from pixel to
        pixel, and dividing by it bends the shapes: on the STO / LSMO file
        the shapes' corners made the top STO rows 0.08-0.12 La M (0.02-0.03
        from the raw spectra)."""
        shapes = self._normalised_start or self._per_pixel
        return bool(shapes and not summary.n_negative)

    def _averaged_start(self, rows, endmembers, data, rng, shapes):
        """The start's endmembers averaged over their pure pixels (as VCA's
        and N-FINDR's ``purity``: a picked pixel's noise points outwards,
        its pure neighbours' mean does not); the signal-to-noise ratio per
        channel squared measured on the way goes to
        ``data.extra["start_snr2"]``.

        With ``shapes`` (:meth:`_start_from_shapes`), purity is judged on
        the spectra divided by their totals (on the raw ones a thick pixel
        reads as purer in the brighter endmember), and each endmember keeps
        the total of its pick.
        """
        if not len(rows):
            return endmembers
        picked_totals = None
        if shapes:
            rows, _ = _unit_sum(rows.astype(np.float64))
            endmembers, picked_totals = _unit_sum(endmembers)
        endmembers, _, noise = average_pure_pixels(
            rows, endmembers, _START_PURITY, rng, return_noise=True
        )
        if picked_totals is not None:
            endmembers = endmembers * picked_totals[:, None]
        mean = float(np.mean(rows))
        data.extra["start_snr2"] = (mean / noise) ** 2 if noise > 0 else np.inf
        return endmembers

    def _intensity_factor(self, stream, rows=4096):
        """Least-squares factor c in x ~ c * (a @ M) over the training samples.

        Uses x.(a M) = a.(M x) and |a M|^2 = a G a with G = M M^T, so no
        reconstruction of batch size is ever formed. The endmembers are
        learned up to a scale (a spectral-angle loss is blind to it, and a
        sum-to-one constraint fixes it only through this factor).
        """
        num = den = 0.0
        M = self.model_.endmembers.detach()
        G = M @ M.T
        self.model_.eval()
        with torch.no_grad():
            for batch in stream.batches(rows):
                x, a = self.model_.pairs(torch.from_numpy(batch).to(self.device_))
                num += float((a * (x @ M.T)).sum())
                den += float(((a @ G) * a).sum())
        return num / den if den > 0 else 1.0

    # -- abundances ------------------------------------------------------------
    def _abundances(self, stream):
        return stream.map_blocks(lambda block: fcls(block, self.components_))


class SpatialAutoencoderUnmixing(AutoencoderUnmixing):
    """Base of the autoencoders that read each pixel's neighbours (MTAEU,
    CNNAEU): ``X`` is the spectrum image ``(rows, columns, channels)``, or
    spectra with ``navigation_shape``; abundances by FCLS per spectrum."""

    _fit_input_doc = """\
X : array-like or dask array, shape (rows, columns, n_features)
    The spectrum image (``s.decomposition`` passes it so), or spectra
    ``(n_samples, n_features)`` with ``navigation_shape`` (without it, they
    are taken as a line scan: each pixel's neighbours are the spectra before
    and after it).
"""

    def _prepare(self, X, energy_axis=None, navigation_shape=None):
        flat = flatten_image(X)[0]
        # The spectra are checked first: their errors are the clearest.
        flat, summary = self._check_unmixing_input(flat)
        cube = X if getattr(X, "ndim", None) == 3 else None
        if cube is None:
            cube = _as_cube(flat, navigation_shape, type(self).__name__)
        self.energy_axis_ = energy_axis
        self._check_image(cube.shape[:2])
        stream = self._sample_stream(cube)
        spectra = RowStream(flat, block_rows=self._block_rows, scale=self.scale_)
        return TrainingData(
            stream,
            stream.n_samples,
            {"summary": summary, "spectra": spectra, "cube": cube},
        )

    def _check_image(self, shape):
        """Refuse images too small for the spatial model."""

    def _sample_stream(self, cube):  # pragma: no cover - abstract
        raise NotImplementedError

    def abundances_and_scale(self, X):
        return super().abundances_and_scale(flatten_image(X)[0])


def _as_cube(X, navigation_shape, name):
    """The spectrum image ``(rows, columns, channels)`` of checked spectra ``X``."""
    if navigation_shape is None:
        # Spectra without a shape: a line scan (neighbours along the line).
        navigation_shape = (1, X.shape[0])
    rows, cols = (int(n) for n in navigation_shape)
    if rows * cols != X.shape[0]:
        raise ValueError(
            f"navigation_shape={tuple(navigation_shape)} holds {rows * cols} pixels "
            f"but X has {X.shape[0]} spectra."
        )
    return X.reshape(rows, cols, X.shape[1])


def _poisson_terms(x, model, eps=1e-12):
    """Sum over spectra of :func:`eels_ae.models.unmixing.poisson_deviance`'s
    terms (numpy; divide by the total counts for the deviance per count)."""
    p = np.clip(model, eps, None)
    p = p / p.sum(axis=1, keepdims=True)
    q = x / np.clip(x.sum(axis=1, keepdims=True), eps, None)
    safe = np.where(x > 0, q, 1.0)
    return float((x * np.log(safe / p)).sum())
