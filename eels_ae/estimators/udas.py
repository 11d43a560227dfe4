"""uDAS: untied denoising autoencoder with sparsity (Qu & Qi 2018)."""

from __future__ import annotations

from ..models import UDASNet
from ..models.udas import marginalised_denoiser
from ..validation import Interval
from .autoencoder import AutoencoderUnmixing, autoencoder_doc, autoencoder_params

__all__ = ["UDAS"]


class UDAS(AutoencoderUnmixing):
    __doc__ = """Untied denoising autoencoder with sparsity (uDAS, Qu & Qi 2018).

    Qu and Qi, "uDAS: An untied denoising autoencoder with sparsity for
    spectral unmixing", IEEE TGRS 57 (2019) [Qu2018]_; the best method on
    the synthetic data of Brun et al. (2024) [Brun2024]_. Its public code is
    MATLAB only; this is a PyTorch rendering of the model:

    - a marginalised denoising layer, computed in closed form from the data
      (the linear map that best restores spectra with channels dropped at
      random, in expectation: no sampling, :func:`eels_ae.models.udas.
      marginalised_denoiser`);
    - an encoder untied from the decoder (not its transpose), with an l2,1
      penalty on its weights (``sparsity``), giving non-negative abundances
      that sum to one;
    - the non-negative linear decoder (the endmembers), started from N-FINDR endmembers;
    - training on corrupted spectra (``corruption``) to restore the clean
      ones (mean squared error).

    Abundances are then fully constrained least squares with the learned
    endmembers (the original refines FCLS abundances by NMF).

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
{AUTOENCODER_PARAMS_DOC}{LOSS_DOC}\
        uDAS: None means 0.02 after a geometric start (with 0.1 the
        mean-squared-error training moved the endmembers away from the
        truth on the synthetic sets: SAD 2.4-3.1 degrees from a 2.1 start).
    corruption : float, default 0.1
        Probability of dropping each channel, for the denoising layer and
        for the training corruption.
    sparsity : float, default 1e-4
        Weight of the l2,1 norm of the encoder.
{INTENSITY_DOC}{TRAINING_PARAMS_DOC}    max_init_samples : int, default 50000
        Spectra drawn for the VCA initialisation and the denoising layer.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Endmembers in the units of the data.
    model_ : eels_ae.models.UDASNet
{FITTED_DOC}    """
    __doc__ = autoencoder_doc(__doc__)

    _model_params = autoencoder_params(
        warmup_epochs=5,
        corruption=0.1,
        sparsity=1e-4,
    )
    _training_defaults = {"max_epochs": 30, "batch_size": 512, "learning_rate": 3e-3}
    _positional = ("n_components",)
    _constraints = {
        **AutoencoderUnmixing._shared_constraints,
        "corruption": Interval("real", 0, 1, closed="left"),
        "sparsity": Interval("real", 0),
    }
    _progress_label = "uDAS"
    # Measured (synthetic sets, dose 1e4, 2 seeds): with 0.1 the
    # mean-squared-error training moved the endmembers away from the truth
    # (SAD 2.4-3.1 degrees from a 2.1 start); 0.02 keeps 2.0-2.1.
    _start_decoder_lr_factor = 0.02

    def _build(self, data, rng):
        net = super()._build(data, rng)
        if "denoiser" not in data.extra:  # once per fit, shared by restarts
            n = self._init_sample_size(data.extra["summary"].n_features)
            _, rows = data.extra["spectra"].sample_rows(n, rng)
            data.extra["denoiser"] = marginalised_denoiser(rows, self.corruption)
        net.set_denoiser(data.extra["denoiser"])
        return net

    def _network(self, n_features):
        return UDASNet(
            n_features,
            self.n_components,
            corruption=self.corruption,
            sparsity=self.sparsity,
        )
