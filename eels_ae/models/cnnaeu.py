"""The CNNAEU network (Palsson et al. 2021): convolutional unmixing
autoencoder on image patches."""

from __future__ import annotations

import torch
from torch import nn

from .unmixing import LinearMixingNet, spectral_angle_loss

__all__ = ["CNNAEUNet"]


class CNNAEUNet(LinearMixingNet):
    """Convolutional unmixing autoencoder.

    Encoder on a patch ``(B, p, p)``: Conv2D ``filters`` 3 x 3 (LeakyReLU
    0.02), batch norm, spatial dropout, Conv2D ``R`` 1 x 1, batch norm,
    spatial dropout, ``softmax(3 x)``: abundance maps ``(R, p, p)``.
    Decoder: each pixel is reconstructed from the abundances around it, as
    in the original, but through a separable kernel: each abundance map is
    averaged over ``kernel_size`` x ``kernel_size`` pixels with learned
    non-negative weights that sum to one (one kernel per component), then
    mixed by the non-negative linear decoder whose weights are the
    endmembers. (The original's full ``R -> B`` kernel holds a different
    spectrum at every kernel position, and its endmembers are their sum.)
    The loss is the mean spectral angle per pixel.

    Parameters
    ----------
    n_channels, n_components : int
    filters : int, default 48
    kernel_size : int, default 5
        Odd width of the decoder's spatial kernels.
    dropout : float, default 0.2
    """

    def __init__(
        self, n_channels, n_components, filters=48, kernel_size=5, dropout=0.2
    ):
        super().__init__()
        self.config = dict(
            n_channels=int(n_channels),
            n_components=int(n_components),
            filters=int(filters),
            kernel_size=int(kernel_size),
            dropout=float(dropout),
        )
        R, k = int(n_components), int(kernel_size)
        self.encoder = nn.Sequential(
            nn.Conv2d(n_channels, filters, 3, padding=1, padding_mode="replicate"),
            nn.LeakyReLU(0.02),
            nn.BatchNorm2d(filters),
            nn.Dropout2d(dropout),
            nn.Conv2d(filters, R, 1),
            nn.BatchNorm2d(R),
            nn.Dropout2d(dropout),
        )
        self.kernel_size = k
        # Logits of each component's spatial kernel (uniform at the start).
        self.spatial_logits = nn.Parameter(torch.zeros(R, 1, k, k))
        self._add_decoder(n_channels, n_components)

    def abundance_maps(self, patches):
        """Abundance maps ``(N, R, p, p)`` of patches ``(N, p, p, B)``."""
        x = patches.permute(0, 3, 1, 2)
        return torch.softmax(3.0 * self.encoder(x), dim=1)

    def spatial_kernels(self):
        """Non-negative kernels ``(R, 1, k, k)`` that sum to one."""
        R, k = self.n_components, self.kernel_size
        return torch.softmax(self.spatial_logits.reshape(R, -1), dim=1).reshape(
            R, 1, k, k
        )

    def smoothed(self, maps):
        """Each abundance map averaged by its kernel (edges replicated)."""
        h = self.kernel_size // 2
        if h == 0:
            return maps
        padded = torch.nn.functional.pad(maps, (h, h, h, h), mode="replicate")
        return torch.nn.functional.conv2d(
            padded, self.spatial_kernels(), groups=self.n_components
        )

    def pairs(self, patches):
        """Every pixel's spectrum and abundances (intensity calibration)."""
        a = self.smoothed(self.abundance_maps(patches)).permute(0, 2, 3, 1)
        return patches.reshape(-1, patches.shape[-1]), a.reshape(-1, a.shape[-1])

    def loss(self, patches):
        """Mean spectral angle of the reconstructed pixels."""
        a = self.smoothed(self.abundance_maps(patches)).permute(0, 2, 3, 1)
        return self.reconstruction_loss(patches, self.decoder(a), spectral_angle_loss)
