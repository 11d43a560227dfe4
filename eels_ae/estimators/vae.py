"""Variational autoencoder over spectra (Roccapriore et al. 2024, the "1D VAE")."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..distributed import compute_in_memory, map_model_blocks
from ..models.vae import DEFAULT_HIDDEN, SpectrumVAE
from ..models.variational import estimate_noise_variance
from ..spectrum_image import as_spectra, check_energy_axis
from ..streaming import DEFAULT_BLOCK_BYTES, RowStream, is_dask_array
from ..training import predict_in_batches
from ..validation import (
    Either,
    Interval,
    IntSequence,
    NonFiniteDataError,
    Options,
    SpectraSummary,
    check_finite,
    check_n_features,
    warn,
)
from .neural import TRAINING_PARAMS_DOC, NeuralEstimator, TrainingData

__all__ = ["VAE"]

_LIKELIHOODS = ("gaussian", "poisson")
_NORMALIZE = ("global", "spectrum")
#: Spectra drawn to estimate the noise, the mean spectrum and latent usage.
_SAMPLE_ROWS = 5000
#: A latent whose means spread less than this many posterior sds is unused.
_COLLAPSE_RATIO = 1.0


class VAE(NeuralEstimator):
    __doc__ = f"""Variational autoencoder that encodes each spectrum into a few latents.

    A fully connected encoder maps every spectrum to a Gaussian posterior
    (mean and sd) over ``latent_dim`` latent variables; a decoder maps latent
    values back to spectra (:class:`eels_ae.models.SpectrumVAE`). The latent
    means are continuous coordinates of the spectra's factors of variation
    (edge shifts, intensities, plasmon energies): their maps are the VAE's
    result (the "1D VAE" of Roccapriore et al. 2024 [Roccapriore2024]_, a
    VAE of Kingma & Welling 2014 [Kingma2014]_). Spectra are treated
    independently, as in PCA or NMF.

    Parameters
    ----------
    latent_dim : int, default 2
        Number of latent variables. Two can be drawn as a plane; unneeded
        ones collapse to the prior (see ``latent_spread_``).
    hidden_layers : sequence of int, default (256, 128)
        Widths of the encoder's hidden layers (the decoder mirrors them).
    likelihood : {{"gaussian", "poisson"}}, default "gaussian"
        How the reconstruction is scored against the data.

        - ``"gaussian"``: squared error divided by the data's noise variance
          (``noise_variance``, estimated from the data by default). Works on any
          data: background-subtracted, gain-normalised, negative values.
        - ``"poisson"``: the data are counts (electrons); the decoder
          predicts a positive rate per channel. Best for raw, low-count
          spectra, whose noise grows with the signal.

        The likelihood must be scaled to the data's real noise: with a
        unit-variance Gaussian (a plain MSE) on data scaled to [0, 1] the
        reconstruction term is thousands of times too weak against the KL
        term and every latent collapses onto the prior.
    noise_variance : float or None, default None
        Gaussian noise variance of one channel, in data units. ``None``
        estimates it from the data (robust MAD of second differences along
        the energy axis, :func:`eels_ae.models.variational.estimate_noise_variance`),
        an average over channels and spectra.
    normalize : {{"global", "spectrum"}}, default "global"
        What the network sees. ``"global"`` divides all data by one number
        (the largest absolute value): intensity differences between pixels
        (thickness, concentration) stay in the data and are encoded.
        ``"spectrum"`` divides each spectrum by its own mean before encoding
        and scales the decoded shape back by it: the latents then describe
        the spectral *shape* only (edge positions, fine structure) and not
        the overall intensity. Either way the likelihood compares
        reconstructions with the data in data units.
    beta : float, default 1.0
        Weight of the KL term (beta-VAE). Above 1 pushes towards
        disentangled but blurrier latents; below 1 towards a plain
        autoencoder.
{TRAINING_PARAMS_DOC}
    Attributes
    ----------
    model_ : eels_ae.models.SpectrumVAE
    device_ : torch.device
    noise_variance_ : float or None
        Gaussian noise variance per channel (data units) the likelihood used;
        ``None`` for ``likelihood="poisson"``.
    scale_ : float
        Global normalisation (largest absolute value of the training data).
    latent_spread_ : numpy.ndarray, shape (latent_dim,)
        Spread (sd) of each latent's posterior means across spectra divided
        by its mean posterior sd, on a sample of the training data. Much
        larger than 1: the latent is used; about 1 or smaller: it collapsed
        onto the prior (a warning says so).
    loss_curve_ : list of float
        Negative ELBO per spectrum (up to a constant) of each epoch.
    n_epochs_, best_loss_ : int, float
    n_features_in_ : int
        Energy channels.
    energy_axis_ : dict or None
        Offset, scale, size and units of the training energy axis (signals).

    Notes
    -----
    Defaults: batches of 64 spectra and Adam at 1e-3 give a few dozen steps
    per epoch on a spectrum image of a few thousand pixels; 100 epochs with
    early stopping (10 epochs without improvement) are enough for two
    latents. Training is reproducible on the CPU for a given
    ``random_state``; an eager and a lazy signal holding the same values
    give the same model (see :mod:`eels_ae.streaming`).

    Examples
    --------
    >>> from eels_ae import VAE
    >>> vae = VAE(latent_dim=2, random_state=0).fit(X)     # X: (n, channels)
    >>> z, z_sd = vae.transform(X, return_std=True)
    >>> X_hat = vae.reconstruct(X)
    """

    _model_params = {
        "latent_dim": 2,
        "hidden_layers": DEFAULT_HIDDEN,
        "likelihood": "gaussian",
        "noise_variance": None,
        "normalize": "global",
        "beta": 1.0,
    }
    _training_defaults = {
        "max_epochs": 100,
        "batch_size": 64,
        "learning_rate": 1e-3,
        "n_iter_no_change": 10,
    }
    _renamed = {"noise_var": "noise_variance", "hidden": "hidden_layers"}
    _constraints = {
        "latent_dim": Interval("int", 1),
        "hidden_layers": IntSequence(min_length=0),
        "likelihood": Options(_LIKELIHOODS),
        "noise_variance": Either(
            (Options((None,)), Interval("real", 0, closed="neither"))
        ),
        "normalize": Options(_NORMALIZE),
        "beta": Interval("real", 0),
    }
    _progress_label = "VAE"
    _fit_input_doc = """\
X : array-like, dask array or HyperSpy signal
    Spectra ``(n_spectra, n_channels)``, an image ``(rows, columns,
    channels)``, or a 1-D signal with one or two navigation axes (eager or
    lazy). Dask data are streamed block by block, never loaded whole.
"""

    # -- fitting ---------------------------------------------------------------
    def _prepare(self, X, energy_axis=None, navigation_shape=None):
        """Check spectra ``X`` (array or signal) before training.

        ``X``: spectra ``(n_spectra, n_channels)`` (numpy or dask), an image
        ``(rows, columns, channels)``, or a 1-D signal with one or two
        navigation axes (eager or lazy). Dask data are streamed block by
        block, never loaded whole.
        """
        X, energy, where = as_spectra(
            X, "VAE.fit", energy_axis=energy_axis, navigation_shape=navigation_shape
        )
        if self.noise_variance is not None and self.likelihood != "gaussian":
            raise ValueError(
                "VAE: noise_variance is used with likelihood='gaussian' only."
            )
        n, n_channels = X.shape
        summary = check_finite(X, where)
        if summary.max_abs == 0:
            raise ValueError("every spectrum is all zeros: there is nothing to learn.")
        self.scale_ = float(summary.max_abs)
        self.n_features_in_ = int(n_channels)
        self.energy_axis_ = energy
        return TrainingData(RowStream(X, scale=self.scale_), n)

    def _build(self, data, rng):
        _, sample = data.stream.sample_rows(self._sample_size(), rng)
        data.extra["sample"] = sample
        noise = self._noise(sample)
        model = SpectrumVAE(
            self.n_features_in_,
            latent_dim=int(self.latent_dim),
            hidden=tuple(self.hidden_layers),
            log_output=self.likelihood == "poisson",
            normalize=self.normalize,
            beta=float(self.beta),
            noise_variance=noise,
            scale=self.scale_,
        )
        shapes, norm = model.encoder_input(torch.from_numpy(sample))
        self.typical_norm_ = float(norm.median())
        model.set_mean_spectrum(shapes.mean(dim=0))
        return model

    def _finish(self, data):
        self._check_collapse(data.extra["sample"])

    def _sample_size(self):
        by_memory = DEFAULT_BLOCK_BYTES // (4 * self.n_features_in_)
        return int(max(2, min(_SAMPLE_ROWS, by_memory)))

    def _noise(self, sample):
        """Noise variance in the scaled units the network trains in (Gaussian)."""
        if self.likelihood == "poisson":
            if (sample < 0).any():
                raise ValueError(
                    "likelihood='poisson' needs counts (>= 0), but the data hold "
                    "negative values: use likelihood='gaussian' (e.g. for "
                    "background-subtracted spectra)."
                )
            self.noise_variance_ = None
            return None
        if self.noise_variance is None:
            _warn_few_channels(type(self).__name__, sample.shape[-1])
            nv = estimate_noise_variance(sample, axis=-1)
        else:
            nv = float(self.noise_variance) / self.scale_**2
        self.noise_variance_ = float(nv * self.scale_**2)
        return nv

    def _check_collapse(self, sample):
        mu, sd = self._posterior_scaled(sample)
        self.latent_spread_ = mu.std(axis=0) / np.maximum(sd.mean(axis=0), 1e-12)
        unused = np.flatnonzero(self.latent_spread_ < _COLLAPSE_RATIO)
        if len(unused):
            names = ", ".join(f"z{k + 1}" for k in unused)
            warn(
                f"latent(s) {names} collapsed onto the prior (spread of the means "
                f"/ posterior sd = "
                f"{', '.join(f'{v:.2g}' for v in self.latent_spread_[unused])}): "
                "they carry no information. If the data should vary along more "
                "factors, lower beta or noise_variance, or train longer; otherwise "
                "lower latent_dim.",
            )

    # -- checks ----------------------------------------------------------------
    def _check_input(self, X, name, with_where=False):
        """Spectra of ``X`` after checking them against the training data.

        With ``with_where``, also the function naming the pixel of a row.
        """
        check_is_fitted(self, "model_")
        X, energy, where = as_spectra(X, name)
        check_n_features(self, X.shape[1])
        check_energy_axis(energy, self.energy_axis_)
        if not is_dask_array(X):
            check_finite(X, where)
        return (X, where) if with_where else X

    # -- applying --------------------------------------------------------------
    def _posterior_stream(self, stream):
        """Posterior means and sds of the rows of a :class:`RowStream`."""

        def fn(t):
            mu, logvar = self.model_.encode(self.model_.encoder_input(t)[0])
            return torch.cat([mu, torch.exp(0.5 * logvar)], dim=1)

        self.model_.eval()
        out = predict_in_batches(fn, stream, self.device_).astype(np.float64)
        k = int(self.latent_dim)
        return out[:, :k], out[:, k:]

    def _posterior_scaled(self, x):
        """Posterior of spectra already divided by ``scale_``."""
        return self._posterior_stream(RowStream(x, scale=1.0))

    def posterior(self, X):
        """Posterior means and standard deviations of every spectrum.

        Parameters
        ----------
        X : array-like, dask array or HyperSpy signal
            Same channels (and energy axis) as the training data.

        Returns
        -------
        mean, sd : numpy.ndarray, each (n_spectra, latent_dim)
            In memory even for dask input (they are small).
        """
        X = self._check_input(X, "VAE.posterior")
        if not is_dask_array(X):
            return self._posterior_stream(RowStream(X, scale=self.scale_))
        # A lazy signal: its NaN/inf checked, chunk by chunk, with the rest.
        cols = self.summarize(X)
        return cols["mean"], cols["sd"]

    def transform(self, X, return_std=False):
        """Latent means ``(n_spectra, latent_dim)`` (and sds if ``return_std``)."""
        mean, sd = self.posterior(X)
        return (mean, sd) if return_std else mean

    def inverse_transform(self, Z):
        """Spectra decoded from latent values ``Z``, ``(n, n_channels)``.

        In data units. With ``normalize="spectrum"`` a decoded spectrum is a
        shape: it is scaled to the median intensity (mean count) of the
        training spectra.
        """
        check_is_fitted(self, "model_")
        Z = np.asarray(Z, dtype=np.float32)
        k = int(self.latent_dim)
        if Z.ndim != 2 or Z.shape[1] != k:
            raise ValueError(f"Z must have shape (n, {k}), got {Z.shape}.")
        factor = self.scale_ * (self.typical_norm_ if self.normalize != "global" else 1)
        self.model_.eval()
        if len(Z) == 0:
            return np.zeros((0, self.n_features_in_))
        out = predict_in_batches(self.model_.decode, RowStream(Z), self.device_)
        return out.astype(np.float64) * factor

    def _encode_decode(self, t):
        """Posterior ``(mu, logvar)`` of scaled spectra ``t`` and their
        reconstruction from ``mu`` in data units."""
        x_in, norm = self.model_.encoder_input(t)
        mu, logvar = self.model_.encode(x_in)
        return mu, logvar, self.model_.decode(mu) * norm * self.scale_

    def _reconstruct_block(self, block):
        """Reconstructions (data units) of a block of spectra in data units."""
        stream = RowStream(np.asarray(block, dtype=np.float32), scale=self.scale_)
        return predict_in_batches(
            lambda t: self._encode_decode(t)[2], stream, self.device_
        )

    def reconstruct(self, X):
        """Spectra decoded from their latent means, in data units.

        Parameters
        ----------
        X : array-like, dask array or HyperSpy signal
            Same channels (and energy axis) as the training data.

        Returns
        -------
        numpy.ndarray or dask.array.Array, shape (n_spectra, n_channels)
            Lazy (computed block by block when asked) for dask or lazy input.
        """
        X = self._check_input(X, "VAE.reconstruct")
        self.model_.eval()
        if is_dask_array(X):
            return map_model_blocks(self, X.rechunk({1: -1}), "_reconstruct_block")
        return self._reconstruct_block(X)

    def summarize(self, X):
        """Latent posterior, reconstruction error and mean maps in one pass.

        What :meth:`eels_ae.hyperspy_glue.VAEResult.from_signal` needs,
        without reading the data twice: a dask array is read block by block,
        once, and checked for NaN/inf on the way.

        Parameters
        ----------
        X : array-like, dask array or HyperSpy signal
            Same channels (and energy axis) as the training data.

        Returns
        -------
        dict of arrays
            ``"mean"``, ``"sd"`` (n_spectra, latent_dim): the posterior;
            ``"mse"`` (n_spectra,): mean squared error of the reconstruction
            from the posterior mean; ``"input_mean"``,
            ``"reconstruction_mean"`` (n_spectra,): both averaged over energy
            (all numpy); ``"reconstruction"`` (n_spectra, n_channels): as
            :meth:`reconstruct` gives it, lazy for dask input.
        """
        X, where = self._check_input(X, "VAE.summarize", with_where=True)
        self.model_.eval()
        k = int(self.latent_dim)
        if is_dask_array(X):
            X = X.rechunk({1: -1})
            # Chunk by chunk on the workers when a dask.distributed cluster
            # is the scheduler (the model travels as weights).
            cols = compute_in_memory(
                map_model_blocks(
                    self,
                    X,
                    "_summary_block",
                    chunks=(X.chunks[0], (2 * k + 4,)),
                    dtype=np.float64,
                )
            )
            n_bad = cols[:, -1]
            if n_bad.any():
                summary = SpectraSummary(
                    n_samples=len(cols),
                    n_features=int(X.shape[1]),
                    max_abs=float("nan"),
                    n_nonfinite=int(n_bad.sum()),
                    nonfinite_rows=n_bad > 0,
                    zero_rows=np.zeros(len(cols), dtype=bool),
                )
                raise NonFiniteDataError(summary, where)
            rec = map_model_blocks(self, X, "_reconstruct_block")
        else:
            cols, rec = self._summary_block(X, with_reconstruction=True)
        return {
            "reconstruction": rec,
            "mean": cols[:, :k],
            "sd": cols[:, k : 2 * k],
            "mse": cols[:, 2 * k],
            "input_mean": cols[:, 2 * k + 1],
            "reconstruction_mean": cols[:, 2 * k + 2],
        }

    def _summary_block(self, block, with_reconstruction=False):
        """Columns of :meth:`summarize` (and a NaN/inf count) for a block;
        with ``with_reconstruction`` also the reconstructed block."""
        block = np.asarray(block, dtype=np.float32)
        n_bad = block.shape[1] - np.isfinite(block).sum(axis=1)

        def fn(t):
            mu, logvar, rec = self._encode_decode(t)
            x = t * self.scale_
            cols = [
                mu,
                torch.exp(0.5 * logvar),
                ((x - rec) ** 2).mean(1, keepdim=True),
                x.mean(1, keepdim=True),
                rec.mean(1, keepdim=True),
            ]
            return torch.cat(cols + ([rec] if with_reconstruction else []), dim=1)

        stream = RowStream(block, scale=self.scale_)
        out = predict_in_batches(fn, stream, self.device_)
        n_cols = 2 * int(self.latent_dim) + 3
        cols = np.concatenate(
            [out[:, :n_cols].astype(np.float64), n_bad[:, None].astype(np.float64)],
            axis=1,
        )
        return (cols, out[:, n_cols:]) if with_reconstruction else cols


def _warn_few_channels(name, n_channels):
    """The noise of spectra of fewer than 3 channels cannot be told from
    their signal (no second difference): say what is taken instead."""
    if n_channels < 3:
        warn(
            f"{name}: spectra of {n_channels} channel(s) give no noise estimate "
            "(it uses second differences along the energy axis): the variance of "
            "the data is taken as the noise variance, which counts the signal as "
            "noise, and the model will explain little. Pass noise_variance (or "
            "likelihood='poisson' for counts)."
        )
