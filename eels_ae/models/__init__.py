"""PyTorch modules. No scikit-learn or HyperSpy here."""

from .daeu import DAEUNet, spectral_angle_loss

__all__ = ["DAEUNet", "spectral_angle_loss"]
