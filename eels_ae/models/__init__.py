"""PyTorch modules. No scikit-learn or HyperSpy here."""

from .daeu import DAEUNet, spectral_angle_loss
from .denoising import ConvDenoisingAE
from .rvae import RotationalVAE
from .vae import SpectrumVAE

__all__ = [
    "ConvDenoisingAE",
    "DAEUNet",
    "RotationalVAE",
    "SpectrumVAE",
    "spectral_angle_loss",
]
