"""MTAEU: the spectral-spatial multitask unmixing autoencoder (Palsson 2019)."""

from __future__ import annotations

import numpy as np

from ..models import MTAEUNet
from ..spatial import neighbourhood_stack
from ..streaming import BandStream
from ..validation import Interval
from .autoencoder import SpatialAutoencoderUnmixing, autoencoder_doc, autoencoder_params

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
    from N-FINDR endmembers (the original starts at random) and abundances are
    fully constrained least squares with the learned endmembers.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    neighbourhood : int, default 3
        Odd width of the square neighbourhood (3: 9 spectra per sample).
        At the image border the edge pixels are repeated.
{AUTOENCODER_PARAMS_DOC}{LOSS_DOC}    hidden_factor : int, default 9
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
{FITTED_DOC}
    Notes
    -----
{LINE_SCAN_NOTE}    """
    __doc__ = autoencoder_doc(__doc__)

    _model_params = autoencoder_params(
        warmup_epochs=10,
        neighbourhood=3,
        hidden_factor=9,
        noise=0.05,
        dropout=0.5,
    )
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
    _noisy_start_counts = 5.0

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
            fixed_samples=True,
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
