"""PyTorch modules. No scikit-learn or HyperSpy here."""

from .cnnaeu import CNNAEUNet
from .daeu import DAEUNet
from .denoising import ConvDenoisingAE
from .mtaeu import MTAEUNet
from .rvae import RotationalVAE
from .udas import UDASNet
from .unmixing import LinearMixingNet, spectral_angle_loss
from .vae import SpectrumVAE
from .vaeu import VAEUNet

__all__ = [
    "CNNAEUNet",
    "ConvDenoisingAE",
    "DAEUNet",
    "LinearMixingNet",
    "MTAEUNet",
    "UDASNet",
    "VAEUNet",
    "RotationalVAE",
    "SpectrumVAE",
    "spectral_angle_loss",
]
