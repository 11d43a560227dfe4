"""Denoising autoencoder for low-dose EELS spectrum images (RapidEELS, Pate et al.
2021)."""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..distributed import map_model_blocks
from ..fidelity import denoising_fidelity, fit_noise_model
from ..metrics import edge_onset
from ..models.denoising import RAPIDEELS_LAYERS, CodeDecoderFit, ConvDenoisingAE
from ..spatial import (
    map_noise_sd,
    matched_neighbour_mean,
    neighbourhood_stack,
    window_mean,
)
from ..spectrum_image import as_spectrum_image, check_energy_axis
from ..streaming import BandStream
from ..training import predict_in_batches, progress_bar, train
from ..validation import Interval, Options, check_finite, check_n_features, warn
from .neural import TRAINING_PARAMS_DOC, NeuralEstimator, TrainingData

__all__ = ["DenoisingAE"]

_TARGETS = ("average", "self")
_NOISES = ("auto", "poisson", "gaussian", None)
_NORMALIZE = ("global", "spectrum")

#: Fewest spectra a denoiser is trained on. Measured on the bundled real
#: spectrum image (STO/LSMO, 1024 channels): trained on all 294 spectra with
#: the defaults the output stayed within the noise at every pixel; on a
#: 49-pixel and a 9-pixel
#: line scan of the same data it collapsed towards one mean spectrum and
#: added a La M edge to every STO pixel (19 of 49 and 5 of 9 spectra flagged
#: by the fidelity check).
MIN_SPECTRA = 64

#: Samples per training epoch at least: a small image is gone through several
#: times per epoch (new noise draws and masks each time), so that an epoch is
#: at least 16 batches of 128. With one pass, 256 spectra gave 2 optimiser
#: steps per epoch and, after 15 epochs, spectra 13 % off the truth at the
#: large background of a core-loss image.
MIN_EPOCH_SAMPLES = 2048

#: Pixels of the training image whose codes measure their noise
#: (``code_noise_``): enough for a median within a few per cent.
_NOISE_SAMPLE = 16384

#: Epochs of the decoder on the smoothed codes (see ``_refit_decoder``).
_REFIT_EPOCHS = 5


class DenoisingAE(NeuralEstimator):
    __doc__ = """RapidEELS 1-D convolutional denoising autoencoder, for any energy axis.

    After Pate, Hart and Taheri, "RapidEELS: machine learning for denoising
    and classification in rapid acquisition electron energy loss
    spectroscopy" (2021) [Pate2021]_; ``target="self"`` is Noise2Self
    (Batson & Royer 2019) [Batson2019]_.

    Five stride-2 Conv1D layers (8/16/16/32/64 filters, kernels 7/7/5/5/3;
    RapidEELS added dropout 0.2, here off by default) encode each spectrum
    into ``latent_dim`` numbers; a mirrored transposed-convolution decoder
    rebuilds it. Fit it on one spectrum image, then :meth:`denoise` that
    image or the next ones.

    Parameters
    ----------
    latent_dim : int, default 5
        Size of the latent space (RapidEELS: 5). It also feeds the
        :class:`LatentClassifier`.
    target : {"average", "self"}, default "average"
        What the network learns to output.

        - ``"self"``: self-supervised (Noise2Self): a random ``mask_fraction``
          of the channels of each input spectrum is hidden (replaced by the
          mean of its two neighbouring channels) and the loss is the error on
          the hidden channels only. Noise is independent from channel to
          channel, so the network cannot learn the noise and learns the
          signal, with no spatial averaging: edge shifts and thickness changes
          from pixel to pixel are kept.
        - ``"average"``: RapidEELS' "ground truth": the mean over an
          ``average_window`` box of pixels around each pixel (a simulated
          lower frame rate). A large box blurs real spatial variation
          (drift, thickness, phase boundaries) into the target; a small one
          (the default 3 x 3) keeps it, and its remaining noise averages out
          in training because it is independent of the input's.
    average_window : int or (int, int), default (3, 3)
        Box of the ``"average"`` target, in pixels along (x, y), the order of
        HyperSpy's navigation axes. RapidEELS averaged 10 rows x 40 columns of
        10 x 638-pixel scans, i.e. ``(40, 10)``. On a line scan only x is
        used. Must fit in the image.
    background_range : (float, float) or None, default None
        Pre-edge energy window (in the units of the energy axis; channel
        indices for arrays) of a power-law background fit (HyperSpy's
        ``remove_background``, fast estimate), removed from each denoised
        spectrum: the output is background-free, as HyperSpy's background
        subtraction of a noise-free copy of the data would be. RapidEELS
        instead trained the network on background-free targets; on real
        core-loss data with backgrounds many times the edge, the network's
        small relative errors then become a pedestal of the size of the edge,
        so the background is fitted to the denoised spectra instead.
    augment_noise : {"auto", "poisson", "gaussian", None}, default "auto"
        ``target="average"`` only: half of the training inputs are replaced by
        new noisy draws around the averaged spectra (Poisson counts, or
        Gaussian noise of the same variance), so the network sees more noise
        realisations than the data hold. ``"auto"`` is ``"poisson"`` for
        ``"average"`` and ``None`` for ``"self"`` (which must learn from the
        data's own noise). The data must be counts for these to be right.
    neighbourhood : int, default 3
        Odd width of the square neighbourhood the network sees: each spectrum
        of it is encoded and the codes are averaged with learned weights
        before decoding. 1 is pixel by pixel, as RapidEELS and PCA (and about
        2.5x faster to train); 3 lets the network use its neighbours.
    code_smoothing : int, default 2
        Half-width of a box of pixels over which each pixel's latent code
        (after pooling its neighbourhood) is averaged with the codes that
        match it within their noise (:func:`eels_ae.spatial.
        matched_neighbour_mean`; the noise is measured on the training
        image, ``code_noise_``), before decoding. Where the image is smooth
        the code's noise falls; across a phase boundary, or along a drift or
        thickness gradient steeper than the noise, the codes differ and are
        not mixed. With ``target="average"``, the end of :meth:`fit` then
        trains the decoder alone for a few epochs, from the smoothed code of
        each pixel of the training image to its own spectrum (less noisy
        codes need less pulling towards a typical spectrum; undone if the
        fidelity check then flags more spectra: ``decoder_refit_``), so set
        it before fitting. 0 turns both off.
        Measured (``benchmarks/edge_precision.py``, 64 x 64 x 240 low-dose
        images, O K, N K and Mn L2,3 edges, 3 seeds each): see that page
        for the edge-position and MSE figures with and without it.
    normalize : {"global", "spectrum"}, default "global"
        ``"global"`` divides all data by one number (the largest value), so
        intensity differences between pixels (thickness) stay in the data
        the network sees. ``"spectrum"`` divides each spectrum (the pixel's
        and each neighbour's) by its own mean count: the network only sees
        shapes, which helps when intensities vary a lot; the output is
        scaled back by the pixel's. (The neighbours used to be divided by
        the pixel's mean count; each spectrum is now encoded once for all
        the neighbourhoods it is in.)
    mask_fraction : float, default 0.2
        ``target="self"``: share of channels hidden per spectrum and step.
    dropout : float, default 0.0
        Element-wise dropout after each encoder layer but the last (RapidEELS:
        0.2). Measured with the other defaults (``benchmarks/
        denoise_speed.py``'s 64 x 64 x 240 images, seeds 0-2): without
        dropout the MSE was 0.24-0.25x the best PCA and the edge-onset error
        0.17 eV, against 0.26-0.34x and 0.17-0.21 eV with 0.2, in 20-30 %
        less time; on 64 x 64 x 340 oxide scenes with drift 0.16 / 0.26x
        against 0.20 / 0.24x; on the real STO / LSMO scan the same fidelity
        (8 and 6 of 294 spectra just above the limit, z <= 7).
{TRAINING_PARAMS_DOC}
    Attributes
    ----------
    model_ : eels_ae.models.ConvDenoisingAE
    device_ : torch.device
    loss_curve_ : list of float
        Mean squared error per epoch (in the normalised units).
    n_epochs_, best_loss_ : int, float
    scale_ : float
        Global normalisation (largest absolute value of the training data).
    decoder_refit_ : bool
        Whether the decoder's epochs on the smoothed codes were kept (see
        ``code_smoothing``): they are undone when the fidelity check flags
        more spectra of the training image's first rows after them.
    code_noise_ : ndarray of shape (latent_dim,)
        Noise standard deviation of each latent code, measured on the first
        rows (up to 16384 pixels) of the training image from codes a
        ``neighbourhood`` apart (:func:`eels_ae.spatial.map_noise_sd`): the
        scale ``code_smoothing`` compares codes with.
    n_features_in_ : int
        Energy channels.
    energy_axis_ : dict or None
        Offset, scale, size and units of the training energy axis (signals).

    Notes
    -----
    Defaults, measured on :func:`eels_ae.data.lowdose_spectrum_image` (64 x
    128 pixels, two oxidation states, 1.5 eV drift, thickness 0.6-1.3, ~15
    counts per channel; ``benchmarks/denoise.py`` for the full comparison):
    the mean squared error to the clean spectra was 0.22 for 3-component PCA
    (the best PCA), 0.22 for ``target="self"``, 0.25 for a 10 x 10 average,
    1.2 for a 10 x 40 (x by y) average (drift and thickness blurred into
    the target) and 0.07-0.14 for a 3 x 3 or 4 x 4 average with
    ``neighbourhood=3``: hence those defaults. Training: RapidEELS ran 500
    epochs at batch 512 with Adam at 1e-3 on ~150,000 spectra; on images of
    a few thousand pixels, batches of 128 at 2e-3 give more steps per epoch.
    The error keeps falling with training: on 32 x 64 pixels, 80 epochs
    (without dropout) cut the edge-position error from 0.55 to 0.17 eV, so
    the default is 50. The loss of a denoiser is small in normalised units,
    so early stopping is off (``tol=None``); the best epoch is kept.
    """.replace("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC)

    _model_params = {
        "latent_dim": 5,
        "target": "average",
        "average_window": (3, 3),
        "background_range": None,
        "augment_noise": "auto",
        "neighbourhood": 3,
        "normalize": "global",
        "mask_fraction": 0.2,
        "dropout": 0.0,
        "code_smoothing": 2,
    }
    _training_defaults = {
        "max_epochs": 50,
        "batch_size": 128,
        "learning_rate": 2e-3,
        "tol": None,
    }
    _constraints = {
        "latent_dim": Interval("int", 1),
        "target": Options(_TARGETS),
        "augment_noise": Options(_NOISES),
        "normalize": Options(_NORMALIZE),
        "mask_fraction": Interval("real", 0, 1, closed="neither"),
        "dropout": Interval("real", 0, 1, closed="left"),
        "code_smoothing": Interval("int", 0),
    }
    _progress_label = "Denoising AE"
    _fit_input_doc = """\
X : HyperSpy signal, or array (rows, columns, channels) / (pixels, channels)
    Counts. Eager or lazy (dask): a lazy image is read band by band.
"""

    # -- fitting -------------------------------------------------------------
    def _prepare(self, X, energy_axis=None, navigation_shape=None):
        """``X``: a HyperSpy signal, or an array (rows, columns, channels) or
        (pixels, channels) of counts; eager or lazy (dask: read band by band)."""
        si = as_spectrum_image(
            X,
            type(self).__name__,
            energy_axis=energy_axis,
            navigation_shape=navigation_shape,
        )
        self._check_params(si)
        summary = check_finite(si.spectra(), si.where)
        if summary.max_abs == 0:
            raise ValueError("all spectra are zero: there is nothing to denoise.")
        self.scale_ = float(summary.max_abs)
        self.n_features_in_ = si.n_channels
        self.energy_axis_ = si.energy
        self.in_spectra_ = int(self.neighbourhood) ** 2
        n_pixels = si.cube.shape[0] * si.cube.shape[1]
        if n_pixels < MIN_SPECTRA:
            raise ValueError(
                f"{type(self).__name__} needs at least {MIN_SPECTRA} spectra to learn "
                f"from, got n_samples = {n_pixels}: with fewer, the network learns a "
                "typical spectrum rather than the variations between pixels, and "
                "gives it back everywhere (edges appear where the data have none). "
                "For so few spectra use PCA (s.decomposition(); "
                "s.get_decomposition_model(k)) or sum neighbouring pixels."
            )
        stream = self._training_stream(si)
        return TrainingData(stream, n_pixels * stream.repeats, {"cube": si.cube})

    def _build(self, data, rng):
        model = ConvDenoisingAE(
            self.n_features_in_,
            in_spectra=self.in_spectra_,
            latent_dim=int(self.latent_dim),
            layers=RAPIDEELS_LAYERS,
            dropout=float(self.dropout),
            objective="masked" if self._self else "target",
            mask_fraction=float(self.mask_fraction),
        )
        # Typical input and output spectra from one band of samples.
        _, first = next(data.stream.bands(rng))
        target = first[:, 0] if self._self else first[:, -1]
        model.set_statistics(first[:, 0], target)
        return model

    def _finish(self, data):
        # The codes' noise, measured once on the training image, sets what
        # code_smoothing treats as noise on every image denoised later (a
        # figure per image would make the output depend on the chunking).
        cube = data.extra["cube"]
        self.code_noise_ = None  # unsmoothed codes below
        self.decoder_refit_ = False
        self.model_.eval()
        rows = max(1, min(cube.shape[0], _NOISE_SAMPLE // cube.shape[1]))
        sample = np.asarray(cube[:rows], dtype=np.float32)  # the first rows
        codes = self._codes_band(sample)[0].reshape(sample.shape[:2] + (-1,))
        # Codes pooled over a neighbourhood share spectra up to its width.
        self.code_noise_ = map_noise_sd(codes, lag=int(self.neighbourhood))
        if self._smoothing_radius and not self._self:
            self._refit_decoder(cube, sample)

    def _refit_decoder(self, cube, sample):
        """A few epochs of the decoder alone: each pixel's smoothed code to
        the pixel's own spectrum; kept only if the fidelity check flags no
        more spectra of ``sample`` (the first rows of ``cube``) than before.

        The decoder was trained on pooled codes, and like any least-squares
        estimate it pulls noisy codes towards a typical spectrum; given the
        smoothed codes, which are less noisy, it can pull less. The pixel's
        own spectrum is a noisy target but an unbiased one, also at a
        boundary (a 3 x 3 mean there mixes two phases, and the decoder
        learnt to mix them: on a Mn L2,3 image 32 spectra along block
        boundaries were flagged by the fidelity check). On the real STO /
        LSMO scan (294 spectra, 15 steps) the refitted decoder was flagged at
        the interface (23 spectra against 9): hence the check. Measured on
        ``benchmarks/edge_precision.py``'s images: see that page.
        """

        # The encoder does not change: every code is computed once, and each
        # epoch (and the check before and after) only decodes.
        sample_codes, sample_norm = self._codes_band(sample)

        def flagged():
            out = self._predict(sample_codes, self.model_.decode) * sample_norm
            out = out.reshape(sample.shape)
            return int(denoising_fidelity(sample, out).unfaithful.sum())

        halo = self._inference_halo
        bands = BandStream(cube, lambda band, top, rows, rng: (band, rows), halo=halo)
        parts = [self._codes_band(band, rows) for _, (band, rows) in bands.bands()]
        codes = np.concatenate([c for c, _ in parts])
        norm = np.concatenate(
            [np.broadcast_to(np.float32(n), (len(c), 1)) for c, n in parts]
        )
        n_cols = cube.shape[1]

        def make_samples(band, top, rows, rng):
            lo, hi = (top + rows.start) * n_cols, (top + rows.stop) * n_cols
            target = band[rows].reshape(hi - lo, -1) / norm[lo:hi]
            return np.concatenate([codes[lo:hi], target], axis=1)

        before = flagged()
        state = copy.deepcopy(self.model_.state_dict())
        stream = BandStream(cube, make_samples, halo=halo)
        n_pixels = cube.shape[0] * cube.shape[1]
        fit = CodeDecoderFit(self.model_)
        seed = check_random_state(self.random_state).randint(2**31)
        train(
            fit,
            stream,
            max_epochs=_REFIT_EPOCHS,
            batch_size=min(int(self.batch_size), n_pixels),
            learning_rate=float(self.learning_rate),
            optimizer=self.optimizer,
            tol=None,
            device=self.device_,
            rng=np.random.default_rng(seed),
            show_progressbar=self.show_progressbar,
            desc=f"{self._progress_label} (decoder on smoothed codes)",
        )
        self.model_.eval()
        self.decoder_refit_ = flagged() <= before
        if not self.decoder_refit_:
            self.model_.load_state_dict(state)

    @property
    def _smoothing_radius(self):
        """``code_smoothing``, or 0 without a usable ``code_noise_`` (model
        files written before it existed, images too small to measure it)."""
        sd = getattr(self, "code_noise_", None)
        if sd is None or not np.all(np.isfinite(sd) & (np.asarray(sd) > 0)):
            return 0
        return int(self.code_smoothing)

    @property
    def _inference_halo(self):
        """Rows (and columns) of neighbours a pixel's denoised spectrum
        depends on on each side: the pooling and the code smoothing."""
        return int(self.neighbourhood) // 2 + self._smoothing_radius

    @property
    def _self(self):
        return self.target == "self"

    @property
    def _noise(self):
        if self.augment_noise == "auto":
            return None if self._self else "poisson"
        return self.augment_noise

    def _window(self, si):
        """``average_window`` as (rows, columns); a line scan uses x only."""
        w = self.average_window
        x, y = (w, w) if isinstance(w, numbers.Integral) else (tuple(w) + (1,))[:2]
        if si.cube.shape[0] == 1:
            y = 1
        return int(y), int(x)

    def _check_params(self, si):
        """Checks that depend on each other or on the image."""
        name = type(self).__name__
        if self._self and self.augment_noise not in ("auto", None):
            raise ValueError(
                "augment_noise works with target='average' only: the self-supervised "
                "target learns from the data's own noise; use augment_noise=None."
            )
        n = self.neighbourhood
        if not isinstance(n, numbers.Integral) or n < 1 or n % 2 == 0:
            raise ValueError(
                f"neighbourhood must be an odd positive integer, got {n!r}."
            )
        rows, cols = si.cube.shape[:2]
        if n > cols or (rows > 1 and n > rows):
            raise ValueError(
                f"neighbourhood={n} is larger than the image ({cols} x {rows} pixels)."
            )
        if si.n_channels < 8:
            raise ValueError(
                f"{name} needs at least 8 energy channels (five stride-2 "
                f"convolutions), got n_features={si.n_channels}."
            )
        if not self._self:
            w = self.average_window
            parts = (w,) if isinstance(w, numbers.Integral) else tuple(w)
            if not parts or any(
                not isinstance(p, numbers.Integral) or p < 1 for p in parts
            ):
                raise ValueError(
                    f"average_window must be a positive int or (x, y) ints, got {w!r}."
                )
            wr, wc = self._window(si)
            if wr > rows or wc > cols:
                raise ValueError(
                    f"average_window={w!r} (x, y) is larger than the image ({cols} x "
                    f"{rows} pixels, x by y): use a window that fits, for example "
                    f"({min(wc, cols)}, {min(wr, rows)})."
                )
        if self.background_range is not None:
            self._check_background_range(si)

    def _check_background_range(self, si):
        units = (si.energy or {}).get("units") or "channels"
        _energy_window(
            self.background_range,
            "background_range",
            si.energy_values,
            units,
            "a power-law fit needs a pre-edge window inside the axis, at least 3 "
            "channels wide.",
        )

    # -- samples ---------------------------------------------------------------
    def _halo(self, si, training):
        h = int(self.neighbourhood) // 2
        if training and not self._self:
            h += self._window(si)[0] // 2
        return h

    def _training_stream(self, si):
        """Band stream of samples ``(pixels, in_spectra [+ 1 target], channels)``."""
        n = int(self.neighbourhood)
        window = None if self._self else self._window(si)
        noise = self._noise

        def make_samples(band, top, rows, rng):
            h = n // 2
            ctx = neighbourhood_stack(band, n, rows)
            if window is None:
                return self._normalize(ctx)
            mean = window_mean(band, window)
            target = mean[rows]
            if noise is not None and rng is not None:
                # New noisy draws around the averaged spectra (neighbours too).
                lo, hi = max(0, rows.start - h), min(len(band), rows.stop + h)
                m = np.clip(mean[lo:hi], 0, None)
                if noise == "poisson":
                    drawn = rng.poisson(m).astype(np.float32)
                else:
                    drawn = (m + np.sqrt(m) * rng.standard_normal(m.shape)).astype(
                        np.float32
                    )
                inner = slice(rows.start - lo, rows.stop - lo)
                aug = neighbourhood_stack(drawn, n, inner)
                pick = rng.random(len(ctx)) < 0.5
                ctx[pick] = aug[pick]
            C = ctx.shape[-1]
            samples = np.concatenate([ctx, target.reshape(-1, 1, C)], axis=1)
            return self._normalize(samples)

        per_sample = 4 * si.n_channels * (n * n + (0 if self._self else 1))
        n_pixels = si.cube.shape[0] * si.cube.shape[1]
        return BandStream(
            si.cube,
            make_samples,
            halo=self._halo(si, True),
            sample_bytes=per_sample,
            repeats=-(-MIN_EPOCH_SAMPLES // n_pixels),
        )

    def _normalize(self, samples, return_norm=False):
        """Divide samples ``(n, spectra, channels)`` (in place) by the global
        scale, or each spectrum by its own mean count (a target, stacked
        last, by that of the sample's first spectrum, the pixel itself).

        Returns the samples, and with ``return_norm`` the divisor of the
        first spectrum of each sample (a number for ``"global"``).
        """
        if self.normalize == "global":
            samples /= np.float32(self.scale_)
            return (samples, self.scale_) if return_norm else samples
        norm = samples.mean(axis=-1, keepdims=True)
        norm = np.maximum(norm, 1e-6 * self.scale_).astype(np.float32)
        if not self._self and samples.shape[1] > self.in_spectra_:
            norm[:, -1] = norm[:, 0]
        samples /= norm
        return (samples, norm[:, 0, 0]) if return_norm else samples

    # -- applying ----------------------------------------------------------
    def _check_input_axes(self, si):
        check_is_fitted(self, "model_")
        check_n_features(self, si.n_channels)
        check_energy_axis(si.energy, self.energy_axis_)

    def _predict(self, x, fn):
        """``fn`` over batches of ``x`` (already normalised), as numpy."""
        return predict_in_batches(fn, x, self.device_, batch_rows=4096)

    def _codes_band(self, band, rows=slice(None)):
        """Latent codes ``(pixels, latent_dim)`` of the rows ``rows`` of
        ``band``, and their normalisation (the global scale, or a column of
        one mean count per pixel).

        ``band`` holds the neighbours of those rows where the image has them
        (:attr:`_inference_halo` rows); beyond the image, the edge spectra
        are repeated, as dask's ``"nearest"`` boundary does for lazy data.
        """
        halo = self._inference_halo
        start = rows.start or 0
        stop = len(band) if rows.stop is None else rows.stop
        r = np.clip(np.arange(start - halo, stop + halo), 0, len(band) - 1)
        c = np.clip(np.arange(-halo, band.shape[1] + halo), 0, band.shape[1] - 1)
        codes, norm = self._codes_grown(np.asarray(band)[r][:, c])
        return codes.reshape(-1, codes.shape[-1]), norm

    def _codes_grown(self, grown):
        """Codes ``(rows, columns, latent_dim)`` of the inner pixels of
        ``grown`` (a block with :attr:`_inference_halo` pixels of neighbours
        on every side), and their normalisation.

        Every spectrum is encoded once; a pixel's code pools the codes of its
        neighbourhood, then (``code_smoothing``) is averaged with the pooled
        codes around it that match it within their noise.
        """
        grown = np.asarray(grown, dtype=np.float32)
        n_rows, n_cols, n_channels = grown.shape
        x, norm = self._normalize(grown.reshape(-1, 1, n_channels).copy(), True)
        z = self._predict(x[:, 0], self.model_.encode_each)
        with torch.no_grad():
            z = torch.from_numpy(z.reshape(1, n_rows, n_cols, -1)).to(self.device_)
            codes = self.model_.pool_codes(z)[0].cpu().numpy()
        radius = self._smoothing_radius
        if radius:
            codes = matched_neighbour_mean(codes, radius, self.code_noise_)
        halo = self._inference_halo
        if np.ndim(norm):  # one per spectrum: keep the inner pixels'
            inner = norm.reshape(n_rows, n_cols)[
                halo : n_rows - halo, halo : n_cols - halo
            ]
            norm = inner.reshape(-1, 1)
        return codes, norm

    def _denoise_band(self, band, rows=slice(None)):
        """Denoised spectra ``(pixels, channels)`` of the rows ``rows`` of ``band``."""
        codes, norm = self._codes_band(band, rows)
        return self._predict(codes, self.model_.decode) * np.float32(norm)

    def _remove_background(self, cube):
        if self.background_range is None:
            return cube
        return _remove_power_law(cube, self.energy_axis_, self.background_range)

    def denoise(self, X, return_fidelity=False):
        """Denoise a spectrum image with the trained network.

        The output is checked against the input (eager data): what the
        network removed must look like noise (:func:`eels_ae.fidelity.
        denoising_fidelity`, a noise model fitted to the input itself). A
        warning names the pixels and energies where the output differs from
        the input by more than the noise allows (an edge invented or lost, a
        spectrum replaced by a typical one); for a signal, the per-pixel
        statistics are kept in ``metadata.Denoising`` of the output
        (``fidelity_z``: largest windowed residual in noise units, above 6
        is flagged; ``fidelity_chi2``: mean squared residual in noise
        units, about 1 when only noise was removed).

        Parameters
        ----------
        X : HyperSpy signal or array
            Same energy channels (and axis) as the training data.
        return_fidelity : bool, default False
            Also return the :class:`~eels_ae.fidelity.FidelityReport` (eager
            data only: lazy output is not computed here, so it is not
            checked; call :func:`eels_ae.fidelity.denoising_fidelity` on the
            computed result).

        Returns
        -------
        Same kind as ``X``
            A new signal (same class, axes and metadata; lazy if ``X`` is
            lazy, computed chunk by chunk) or an array of the same shape.
            ``X`` is not modified.
        report : FidelityReport
            Only with ``return_fidelity=True``.
        """
        si = as_spectrum_image(X, "denoise")
        self._check_input_axes(si)
        self.model_.eval()
        h = self._inference_halo
        title = None
        if si.title is not None:
            title = f"{si.title} (denoised)".strip()
        if si.lazy:
            if return_fidelity:
                raise ValueError(
                    "return_fidelity needs eager data: compute the denoised signal, "
                    "then call eels_ae.fidelity.denoising_fidelity(raw, denoised)."
                )
            return si.like_input(self._denoise_lazy(si.cube, h), title=title)
        check_finite(si.spectra(), si.where)
        out = self._denoise_cube(si.cube, "Denoising")
        report = self._fidelity(si, out)
        metadata = {
            "Denoising.fidelity_z": si.maps(report.z_max, "Denoising fidelity (z)"),
            "Denoising.fidelity_chi2": si.maps(
                report.chi2, "Denoising fidelity (chi2)"
            ),
        }
        out = si.like_input(self._remove_background(out), title, metadata)
        return (out, report) if return_fidelity else out

    def edge_positions(
        self, X, search_range, n_draws=8, fraction=0.5, random_state=None
    ):
        """Position of an edge in every denoised spectrum, and its uncertainty.

        The position is :func:`eels_ae.metrics.edge_onset` of the denoised
        spectrum (half-way up the edge to its main peak in ``search_range``,
        after removing the power law fitted in ``background_range`` when the
        model has one). Its uncertainty is that of the denoiser: new noisy
        images are drawn around the denoised one (the noise model ``variance
        = gain * counts + offset`` fitted to ``X`` itself,
        :func:`eels_ae.fidelity.fit_noise_model`), each is denoised by the
        same network, and the standard deviation of the position over the
        draws is given per pixel. It measures how much the noise moves the
        position, not a bias the network shares over all draws (an edge
        averaged across a phase boundary, say): compare with the raw data
        where it matters. A position across which the raw data (3 x 3
        means) do not rise by three standard errors is NaN, with a warning:
        a denoised spectrum gives a stable number even where it has no edge.

        Parameters
        ----------
        X : HyperSpy signal or array
            Same energy channels as the training data; eager.
        search_range : (float, float)
            Energy window (axis units) that holds the edge and its main peak
            at every pixel, and nothing that rises above that peak.
        n_draws : int, default 8
            Noisy images denoised for the uncertainty.
        fraction : float, default 0.5
            Height of the edge at which its position is read (see
            :func:`eels_ae.metrics.edge_onset`).
        random_state : int, RandomState instance or None

        Returns
        -------
        position, position_sd : signals or arrays
            In the units of the energy axis, one value per pixel: for a
            signal, images with its navigation axes; for an array, arrays
            shaped like its navigation grid. NaN where no edge was found.
        """
        si = as_spectrum_image(X, "edge_positions")
        self._check_input_axes(si)
        if si.lazy:
            raise ValueError(
                "edge_positions needs eager data: load the signal (s.compute())."
            )
        if not isinstance(n_draws, numbers.Integral) or n_draws < 2:
            raise ValueError(f"n_draws must be an integer >= 2, got {n_draws!r}.")
        check_finite(si.spectra(), si.where)
        energy = si.energy_values
        units = (si.energy or {}).get("units") or "channels"
        lo, hi = _energy_window(
            search_range,
            "search_range",
            energy,
            units,
            "give a window inside the axis, at least 3 channels wide, that holds "
            "the edge and its main peak.",
        )
        self.model_.eval()
        rng = check_random_state(random_state)

        def read(denoised):
            return edge_onset(
                denoised,
                energy,
                background_range=self.background_range,
                fraction=fraction,
                search_range=(lo, hi),
            )

        raw = np.asarray(si.cube, dtype=np.float32)
        denoised = self._denoise_cube(raw)
        flat = denoised.reshape(-1, si.n_channels)
        gain, offset = fit_noise_model(raw.reshape(flat.shape) - flat, flat)
        sd = np.sqrt(np.clip(gain * denoised + offset, 1e-12, None)).astype(np.float32)
        position = read(denoised)
        missing = ~self._edge_in_raw(raw, position, energy, (lo, hi), gain, offset)
        position[missing] = np.nan
        draws = []
        with progress_bar(n_draws, "Edge positions", self.show_progressbar) as bar:
            for _ in range(n_draws):
                noise = rng.standard_normal(denoised.shape).astype(np.float32)
                draws.append(read(self._denoise_cube(denoised + sd * noise)))
                bar.update(1)
        with warnings.catch_warnings():
            # Pixels without an edge in some draws: NaN, not a warning each.
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanstd(np.stack(draws), axis=0, ddof=1)
        n_missing = int(missing.sum())
        if n_missing:
            where = ", ".join(si.where(int(i)) for i in np.flatnonzero(missing)[:3])
            warn(
                f"no edge rises in the raw data at the position read in {n_missing} "
                f"of {missing.size} spectra (e.g. {where}): their position is NaN. "
                "The denoised spectra there hold no edge in the search range, or "
                "one too weak for the noise."
            )
        return (
            si.maps(position, "Edge position"),
            si.maps(spread, "Edge position uncertainty (sd)"),
        )

    def _edge_in_raw(self, raw, position, energy, search_range, gain, offset):
        """Whether the raw data (3 x 3 means) rise across each read position.

        The mean over ``k`` channels just above the position must exceed the
        mean over ``k`` channels just below it by 3 standard errors of the
        noise model (``k``: a quarter of the search range): a position read
        on a spectrum without an edge there (a falling background, a
        denoised spectrum with no edge) fails, a real edge passes.
        """
        scale = energy[1] - energy[0]
        k = max(2, int(round((search_range[1] - search_range[0]) / 4 / scale)))
        mean = window_mean(raw, (3, 3)).astype(np.float64)
        cum = np.concatenate(
            [np.zeros(mean.shape[:-1] + (1,)), np.cumsum(mean, axis=-1)], axis=-1
        )
        n = mean.shape[-1]
        ok = np.isfinite(position)
        i = np.searchsorted(energy, np.where(ok, position, energy[0]))
        i = np.clip(i, k, n - k)[..., None]
        at = [np.take_along_axis(cum, i + d, -1)[..., 0] for d in (-k, 0, k)]
        before, after = (at[1] - at[0]) / k, (at[2] - at[1]) / k
        # Variance of a k-channel mean of a 3 x 3 mean (9 pixels, fewer at
        # the border: the bound is then a little loose).
        var = (gain * np.clip(after + before, 0, None) / 2 + offset) / (9 * k)
        return ok & (after - before > 3 * np.sqrt(2 * var))

    def _denoise_cube(self, cube, label=None):
        """Denoised cube (background kept), eager, band by band; a progress
        bar named ``label`` if given."""
        stream = BandStream(
            cube,
            lambda band, top, rows, rng: (band, rows),
            halo=self._inference_halo,
        )
        out = np.empty(cube.shape, dtype=np.float32)
        show = self.show_progressbar if label else False
        with progress_bar(stream.n_bands, label or "", show) as bar:
            for start, (band, rows) in stream.bands():
                n_rows = rows.stop - rows.start
                out[start : start + n_rows] = self._denoise_band(band, rows).reshape(
                    n_rows, *cube.shape[1:]
                )
                bar.update(1)
        return out

    def _fidelity(self, si, out):
        """Check the output against the input's noise; warn where it left it."""
        e = si.energy
        energy = units = None
        if e is not None:
            energy = si.energy_values
            units = e.get("units") or None
        report = denoising_fidelity(si.cube, out, energy=energy)
        message = report.summary(si.where, units=units or "channel")
        if message is not None:
            warn(
                f"{message}. The network did not only remove noise there: check "
                "those spectra against the raw data, train longer or on more "
                "spectra, or use PCA (s.decomposition(); "
                "s.get_decomposition_model(k)). The per-pixel statistics are in "
                "the output's metadata.Denoising."
            )
        return report

    def _denoise_lazy(self, cube, h):
        # The workers get the weights, not this estimator (eels_ae.distributed).
        return map_model_blocks(
            self,
            _halo_chunks(cube, h),
            "_denoise_chunk",
            depth={0: h, 1: h, 2: 0} if h else None,
        )

    def _denoise_chunk(self, block):
        """Denoised (background-free, if asked) chunk of a cube, halo included."""
        bad = ~np.isfinite(block)
        if bad.any():
            # The eager path refuses them before denoising; lazily they are
            # found chunk by chunk, and a network would spread them to every
            # neighbour of the pixel.
            pixels = int(bad.any(axis=-1).sum())
            raise ValueError(
                f"the lazy data hold NaN or inf values ({int(bad.sum())} in "
                f"{pixels} pixel(s) of one chunk): they would spread to the "
                "neighbouring pixels of the denoised output. Replace them first "
                "(s.data = dask.array.nan_to_num(s.data)), or find them with "
                "s.compute()."
            )
        codes, norm = self._codes_grown(block)
        h = self._inference_halo
        out = np.zeros(block.shape, dtype=np.float32)  # the halo is trimmed
        inner = self._predict(codes.reshape(-1, codes.shape[-1]), self.model_.decode)
        out[h : block.shape[0] - h, h : block.shape[1] - h] = (
            inner * np.float32(norm)
        ).reshape(codes.shape[:2] + (-1,))
        return self._remove_background(out)

    def transform(self, X):
        """Latent codes of every pixel, ``(n_pixels, latent_dim)`` (C order)."""
        si = as_spectrum_image(X, "transform")
        self._check_input_axes(si)
        check_finite(si.spectra(), si.where)
        self.model_.eval()
        h = self._inference_halo
        if si.lazy:
            return self._codes_lazy(si.cube, h)
        stream = BandStream(si.cube, lambda band, top, rows, rng: (band, rows), halo=h)
        codes = [self._codes_band(band, rows)[0] for _, (band, rows) in stream.bands()]
        return np.concatenate(codes, axis=0).astype(np.float64)

    def _codes_lazy(self, cube, h):
        """Latent codes of a dask cube, chunk by chunk (on dask's scheduler:
        a ``dask.distributed`` cluster gets the weights, not this estimator)."""
        cube = _halo_chunks(cube, h)
        k = int(self.latent_dim)
        # With a halo, each chunk arrives grown by h on every side (the image
        # border padded with its nearest pixels) and its codes are trimmed.
        grown = tuple(tuple(c + 2 * h for c in cube.chunks[a]) for a in (0, 1))
        codes = map_model_blocks(
            self,
            cube,
            "_codes_chunk",
            depth={0: h, 1: h, 2: 0} if h else None,
            chunks=(grown if h else cube.chunks[:2]) + ((k,),),
            dtype=np.float64,
        )
        return np.asarray(codes.compute()).reshape(-1, k)

    def _codes_chunk(self, block):
        """Latent codes ``(rows, columns, latent_dim)`` of a chunk of a cube."""
        codes, _ = self._codes_grown(block)
        h = self._inference_halo
        return np.pad(codes, ((h, h), (h, h), (0, 0)))  # the halo is trimmed

    def inverse_transform(self, Z):
        """Spectra decoded from latent codes ``Z``, ``(n, n_channels)``.

        In data units for ``normalize="global"``; relative (mean 1 for a
        typical spectrum) for ``normalize="spectrum"``.
        """
        check_is_fitted(self, "model_")
        Z = np.asarray(Z, dtype=np.float32).reshape(-1, int(self.latent_dim))
        out = self._predict(Z, self.model_.decode)
        return out * (self.scale_ if self.normalize == "global" else 1.0)


def _energy_window(window, name, energy, units, hint):
    """``(start, end)`` of the energy window given as ``name``, checked
    against the channel energies: inside the axis, at least 3 channels."""
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be (start, end) energies, got {window!r}."
        ) from None
    first, last = float(energy[0]), float(energy[-1])
    if not first <= lo < hi <= last:
        raise ValueError(
            f"{name}=({lo:g}, {hi:g}) is outside the energy axis ({first:g} to "
            f"{last:g} {units}) or empty: {hint}"
        )
    if (hi - lo) / (energy[1] - energy[0]) < 3:
        raise ValueError(f"{name}=({lo:g}, {hi:g}) spans fewer than 3 channels: {hint}")
    return lo, hi


def _halo_chunks(cube, halo):
    """``cube`` in chunks that hold whole spectra and at least ``halo`` rows
    and columns each (what ``map_overlap`` needs to lend a chunk's
    neighbours that many pixels)."""
    from dask.array.overlap import ensure_minimum_chunksize

    chunks = {2: -1}
    if halo:
        for axis in (0, 1):
            chunks[axis] = ensure_minimum_chunksize(halo, cube.chunks[axis])
    return cube.rechunk(chunks)


def _remove_power_law(band, energy, background_range):
    """HyperSpy's power-law background removal (needs HyperSpy only when
    ``background_range`` is set: eels_ae does not refit backgrounds itself)."""
    from ..hyperspy_glue.background import remove_power_law

    return remove_power_law(band, energy, background_range)
