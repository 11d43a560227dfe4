"""VAEU: variational unmixing with endmember variability (PGMSU-like)."""

from __future__ import annotations

import numpy as np

from ..models import VAEUNet
from ..models.variational import estimate_noise_variance
from ..training import predict_in_batches
from ..validation import Interval, Options
from .autoencoder import AutoencoderUnmixing, autoencoder_doc, autoencoder_params
from .vae import _warn_few_channels

__all__ = ["VAEU"]


class VAEU(AutoencoderUnmixing):
    __doc__ = """Variational unmixing with endmember variability (VAEU).

    In the spirit of PGMSU (Shi et al., "Probabilistic generative model for
    hyperspectral unmixing accounting for endmember variability", IEEE TGRS
    60, 2022) [Shi2022]_: real EELS spectrum images are not linear mixtures
    of fixed endmembers (thickness, density, broadening, damage change them
    from pixel to pixel; the conclusion of Brun et al. 2024). Each spectrum is modelled
    as ``c * sum_r a_r E_r`` with its own endmembers ``E_r = exp(g_r(z))
    (M_r + D_r(z))``: the mean endmembers ``M`` (``components_``) changed by
    an intensity factor per endmember and a shape change, both decoded from
    a per-pixel latent ``z`` with a Gaussian posterior (the variational
    part, KL to the prior), Gaussian priors on the changes that keep ``M``
    the mean, and a free intensity ``c`` per pixel (thickness, beam
    current). :meth:`pixel_endmembers` gives each pixel's endmembers and
    :meth:`endmember_variability` their relative change
    (``s.learning_results.endmember_variability`` after
    ``s.decomposition(algorithm="vaeu")``).

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
{AUTOENCODER_PARAMS_DOC}\
        VAEU: None means 0.02 after a geometric start (0.1 moved the mean
        endmembers away from the truth on the synthetic sets: M/L set with a
        thickness ramp, 2.3-2.8 vs 1.7-2.0 degrees).
    latent_dim : int, default 4
        Dimension of the variability latent.
    hidden : int, default 64
        Width of the hidden layers.
    variability : float, default 0.2
        Prior standard deviation of the relative endmember changes (0.2:
        changes of about 20 % are cheap, 60 % are not).
    poisson : bool, default False
        Weight each channel by the inverse of its Poisson variance (in
        proportion to the mean spectrum) instead of one noise variance for
        all. Measured worse on the synthetic sets (K set with a thickness
        ramp: mean endmember SAD 2.8-3.5 vs 1.9-2.1 degrees), so off.
    abundances : {"fcls", "encoder"}, default "fcls"
        Fully constrained least squares with the mean endmembers, or the
        encoder's output. On the synthetic sets FCLS gave 2-5 times lower
        abundance error (NMSE).
    intensity : {"per_pixel", "fixed", "auto"}, default "per_pixel"
        As for :class:`DAEU`, but ``"per_pixel"`` by default, as the model
        itself has a free intensity per pixel: K set with a 1-2x thickness
        ramp, NMSE 0.07-0.09 vs 0.24-0.36 with ``"fixed"``; without thickness
        changes about the same (0.05-0.08 vs 0.04-0.08).
{TRAINING_PARAMS_DOC}\
    max_init_samples : int, default 50000
        Spectra drawn for the VCA initialisation and the noise estimate.
        The start is picked among spectra divided by their totals, so that
        a thickness change does not decide which pixels are picked (K set
        with a thickness ramp: start SAD 4.3 -> 1.6 degrees).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Mean endmembers, in the units of the data.
    noise_var_ : float
        Noise variance of the scaled data used by the likelihood.
    model_ : eels_ae.models.VAEUNet
{FITTED_DOC}    """
    __doc__ = autoencoder_doc(__doc__)

    _model_params = autoencoder_params(
        warmup_epochs=10,
        intensity="per_pixel",
        latent_dim=4,
        hidden=64,
        variability=0.2,
        poisson=False,
        abundances="fcls",
        # Its own likelihood (``poisson``), measured on the variability sets.
        loss=None,
    )
    _training_defaults = {"max_epochs": 60, "batch_size": 256, "learning_rate": 3e-3}
    _positional = ("n_components",)
    _constraints = {
        **{
            k: v
            for k, v in AutoencoderUnmixing._shared_constraints.items()
            if k != "loss"
        },
        "latent_dim": Interval("int", 1),
        "hidden": Interval("int", 2),
        "variability": Interval("real", 0, closed="neither"),
        "poisson": Options((True, False)),
        "abundances": Options(("encoder", "fcls")),
    }
    _progress_label = "VAEU"
    # A model of variability starts from endmembers picked regardless of
    # each spectrum's intensity.
    _normalised_start = True
    # The mean endmembers move slowly: the variability absorbs the rest.
    _start_decoder_lr_factor = 0.02

    def _build(self, data, rng):
        if "noise_var" not in data.extra:  # once per fit, shared by restarts
            n = self._init_sample_size(data.extra["summary"].n_features)
            _, rows = data.extra["spectra"].sample_rows(n, rng)
            _warn_few_channels("VAEU", rows.shape[-1])
            data.extra["noise_var"] = estimate_noise_variance(rows)
            # Poisson noise: variance in proportion to the mean spectrum
            # (floored, so empty channels do not get infinite weight).
            mean = np.clip(rows.mean(axis=0), 0.0, None)
            mean = np.maximum(mean, 0.05 * mean.mean() + 1e-30)
            data.extra["channel_variance"] = (mean / mean.mean()).astype(np.float32)
        self.noise_var_ = float(data.extra["noise_var"])
        net = super()._build(data, rng)
        if self.poisson:
            net.set_channel_variance(data.extra["channel_variance"])
        return net

    def _network(self, n_features):
        return VAEUNet(
            n_features,
            self.n_components,
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            variability=self.variability,
            noise_var=self.noise_var_,
        )

    def _abundances(self, stream):
        if self.abundances == "fcls":
            return super()._abundances(stream)
        self.model_.eval()
        return predict_in_batches(self.model_.abundances, stream, self.device_)

    def pixel_endmembers(self, X):
        """Each spectrum's own endmembers (posterior mean), in data units.

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_components, n_features)
            Scaled like ``components_``: ``pixel_endmembers(X).mean(0)`` is
            close to ``components_`` when the changes average out.
        """
        stream, _ = self._checked_stream(X)
        self.model_.eval()
        # components_ is the network's (scaled) M times one factor.
        M = self.model_.endmembers.detach().cpu().numpy().astype(np.float64)
        factor = float((self.components_ * M).sum() / max((M * M).sum(), 1e-300))

        def fn(x):
            return self.model_.pixel_endmembers(x)[0]

        E = predict_in_batches(fn, stream, self.device_, batch_rows=4096)
        return E.astype(np.float64) * factor

    def endmember_variability(self, X):
        """Relative change of each pixel's endmembers from the mean ones,
        ``|E_pr - M_r| / |M_r|``.

        Computed batch by batch (the per-pixel endmembers are never held
        all at once).

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_components)
        """
        stream, _ = self._checked_stream(X)
        self.model_.eval()
        M = self.model_.endmembers.detach()
        norm = M.norm(dim=1).clamp_min(1e-30)

        def fn(x):
            E = self.model_.pixel_endmembers(x)[0]
            return (E - M.unsqueeze(0)).norm(dim=2) / norm

        return predict_in_batches(fn, stream, self.device_).astype(np.float64)
