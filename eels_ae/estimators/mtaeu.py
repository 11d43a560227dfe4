"""MTAEU: the spectral-spatial multitask unmixing autoencoder (Palsson 2019)."""

from __future__ import annotations

import numpy as np

from ..models import MTAEUNet
from ..spatial import neighbourhood_stack
from ..streaming import BandStream
from ..validation import Interval
from .autoencoder import AUTOENCODER_PARAMS_DOC, SpatialAutoencoderUnmixing
from .base import INTENSITY_DOC
from .neural import TRAINING_PARAMS_DOC

__all__ = ["MTAEU"]


class MTAEU(SpatialAutoencoderUnmixing):
    __doc__ = """Spectral-spatial multitask unmixing autoencoder (MTAEU).

    Palsson, Sveinsson and Ulfarsson, "Spectral-spatial hyperspectral
    unmixing using multitask learning", IEEE Access 7 (2019)
    [Palsson2019]_, as compared on EELS by Brun et al. (2024) [Brun2024]_.
    The spectra of each pixel's ``neighbourhood`` x ``neighbourhood``
    neighbourhood are encoded together (one shared hidden layer), one head
    per spectrum gives its abundances, and all heads share the
    non-negative linear decoder whose weights are the endmembers: each
    pixel's abundances are informed by its neighbours. The decoder starts
    from VCA endmembers (the original starts at random) and abundances are
    fully constrained least squares with the learned endmembers.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    neighbourhood : int, default 3
        Odd width of the square neighbourhood (3: 9 spectra per sample).
        At the image border the edge pixels are repeated.
{AUTOENCODER_PARAMS_DOC}    hidden_factor : int, default 9
        Width of the shared hidden layer, in multiples of ``n_components``.
    noise : float, default 0.05
        Gaussian noise added to the (max-scaled) input while training.
    dropout : float, default 0.5
        Dropout of the shared hidden layer.
{INTENSITY_DOC}{TRAINING_PARAMS_DOC}    max_init_samples : int, default 50000
        Spectra drawn for the VCA initialisation.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    model_ : eels_ae.models.MTAEUNet
    device_, loss_curve_, n_epochs_, best_loss_, init_losses_, scale_,
    n_features_in_
        As :class:`DAEU`.

    Notes
    -----
    Spectra ``(n, channels)`` given without ``navigation_shape`` are taken as
    a line scan (one row of pixels).
    """
    __doc__ = (
        __doc__.replace("{AUTOENCODER_PARAMS_DOC}", AUTOENCODER_PARAMS_DOC)
        .replace("{INTENSITY_DOC}", INTENSITY_DOC)
        .replace("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC)
    )

    _model_params = {
        "n_components": None,
        "neighbourhood": 3,
        "init": "vca",
        "n_init": 1,
        "warmup_epochs": 10,
        "decoder_lr_factor": None,
        "hidden_factor": 9,
        "noise": 0.05,
        "dropout": 0.5,
        "max_init_samples": 50000,
        "intensity": "fixed",
    }
    _training_defaults = {"max_epochs": 30, "batch_size": 512, "learning_rate": 3e-3}
    _positional = ("n_components",)
    _constraints = {
        **SpatialAutoencoderUnmixing._shared_constraints,
        "neighbourhood": Interval("int", 1),
        "hidden_factor": Interval("int", 1),
        "noise": Interval("real", 0),
        "dropout": Interval("real", 0, 1, closed="left"),
    }
    _progress_label = "MTAEU"

    def _check_parameters(self):
        super()._check_parameters()
        if int(self.neighbourhood) % 2 == 0:
            raise ValueError(
                f"MTAEU: neighbourhood must be odd (the pixel at the centre), got "
                f"{self.neighbourhood!r}."
            )

    def _sample_stream(self, cube):
        size = int(self.neighbourhood)
        inv = np.float32(1.0 / self.scale_)

        def make_samples(band, top, rows, rng):
            return neighbourhood_stack(band, size, rows) * inv

        return BandStream(
            cube,
            make_samples,
            halo=size // 2,
            sample_bytes=4 * size * size * int(cube.shape[-1]),
        )

    def _network(self, n_features):
        return MTAEUNet(
            n_features,
            self.n_components,
            int(self.neighbourhood) ** 2,
            hidden_factor=self.hidden_factor,
            noise=self.noise,
            dropout=self.dropout,
        )
