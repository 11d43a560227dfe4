"""CNNAEU: the convolutional unmixing autoencoder (Palsson et al. 2021)."""

from __future__ import annotations

import numpy as np

from ..models import CNNAEUNet
from ..patches import interior_shape, patch_stream
from ..streaming import BandStream
from ..validation import Interval, warn
from .autoencoder import SpatialAutoencoderUnmixing, autoencoder_doc, autoencoder_params

__all__ = ["CNNAEU"]


class CNNAEU(SpatialAutoencoderUnmixing):
    __doc__ = """Convolutional unmixing autoencoder (CNNAEU).

    Palsson, Ulfarsson and Sveinsson, "Convolutional autoencoder for
    spectral-spatial hyperspectral unmixing", IEEE TGRS 59 (2021)
    [Palsson2021]_, as compared on EELS by Brun et al. (2024) [Brun2024]_.
    A convolutional encoder turns a ``patch_size`` x ``patch_size`` patch
    of the spectrum image into abundance maps (``softmax(3 x)``: >= 0,
    summing to one); the decoder reconstructs each pixel from the
    abundances around it (``kernel_size`` x ``kernel_size``). Unlike the
    original's full convolution (a different spectrum at every kernel
    position, endmembers their sum) the decoder kernel is separable: a
    learned spatial average of each abundance map, then the non-negative
    linear decoder whose weights are the endmembers (see Notes). The
    endmembers start from N-FINDR endmembers (the original starts at random)
    and abundances are fully constrained least squares with the learned
    endmembers.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    patch_size : int, default 16
        Width of the square training patches (the original: 40). Images
        smaller than that train on the largest square that fits (with a
        warning).
    patches_per_epoch : int, default 32
        Random patches per epoch.
    kernel_size : int, default 5
        Odd width of the decoder's spatial kernels (the original: 13).
    filters : int, default 48
        Filters of the first (3 x 3) convolution.
    dropout : float, default 0.2
        Spatial dropout (whole maps) in the encoder.
{AUTOENCODER_PARAMS_DOC}{LOSS_DOC}{INTENSITY_DOC}{TRAINING_PARAMS_DOC}\
    max_init_samples : int, default 50000
        Spectra drawn for the VCA initialisation.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    model_ : eels_ae.models.CNNAEUNet
{FITTED_DOC}
    Notes
    -----
{LINE_SCAN_NOTE}
    The full convolutional decoder of the original was measured first
    (synthetic sets, dose 1e4, 2 seeds): its summed kernels drifted from the
    truth, mean SAD 3.9-4.7 degrees on the K set with 3 x 3 or 5 x 5
    kernels (2.2 and 1.7 with 1 x 1), because each kernel position may
    hold a different spectrum. The separable kernel keeps one spectrum per
    endmember.

    The original's TensorFlow RMSprop
    (epsilon inside the square root) is what a PyTorch port needs to
    reproduce its training; eels_ae trains with Adam (``optimizer``).
    """
    __doc__ = autoencoder_doc(__doc__)

    _model_params = autoencoder_params(
        warmup_epochs=10,
        patch_size=16,
        patches_per_epoch=32,
        kernel_size=5,
        filters=48,
        dropout=0.2,
    )
    _training_defaults = {"max_epochs": 40, "batch_size": 8, "learning_rate": 3e-3}
    _positional = ("n_components",)
    _constraints = {
        **SpatialAutoencoderUnmixing._shared_constraints,
        "patch_size": Interval("int", 1),
        "patches_per_epoch": Interval("int", 2),
        "kernel_size": Interval("int", 1),
        "filters": Interval("int", 1),
        "dropout": Interval("real", 0, 1, closed="left"),
    }
    _progress_label = "CNNAEU"
    _noisy_start_counts = 5.0
    _sample_unit = "patches"

    def _check_parameters(self):
        super()._check_parameters()
        if int(self.kernel_size) % 2 == 0:
            raise ValueError(
                f"CNNAEU: kernel_size must be odd (centred kernels), got "
                f"{self.kernel_size!r}."
            )

    def _sample_stream(self, cube):
        rows, cols = (int(n) for n in cube.shape[:2])
        window = int(self.patch_size)
        if window > min(rows, cols):
            window = min(rows, cols)
            warn(
                f"CNNAEU: the image ({cols} x {rows} pixels) is smaller than "
                f"patch_size={self.patch_size}: training on {window} x {window} "
                "patches."
            )
        n_patches = int(np.prod(interior_shape((rows, cols), window)))
        fraction = min(1.0, int(self.patches_per_epoch) / n_patches)
        inv = np.float32(1.0 / self.scale_)
        stream = patch_stream(
            cube, window, transform=lambda band: band * inv, fraction=fraction
        )
        stream.n_samples = max(2, round(fraction * n_patches))
        return stream

    def _calibration_stream(self, data):
        # The whole image band by band, not every overlapping patch.
        inv = np.float32(1.0 / self.scale_)
        return BandStream(
            data.extra["cube"],
            lambda band, top, rows, rng: band[None] * inv,
            halo=int(self.kernel_size) // 2,
        )

    def _network(self, n_features):
        return CNNAEUNet(
            n_features,
            self.n_components,
            filters=self.filters,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
        )
