"""PyTorch modules. No scikit-learn or HyperSpy here."""

from .daeu import DAEUNet, spectral_angle_loss
from .denoising import ConvDenoisingAE

__all__ = ["ConvDenoisingAE", "DAEUNet", "spectral_angle_loss"]
