"""The DAEU network (Palsson et al. 2018): a deep encoder, a linear decoder."""

from __future__ import annotations

import torch
from torch import nn

from .unmixing import LinearMixingNet, normalised_abundances, spectral_angle_loss

__all__ = ["DAEUNet"]


class DAEUNet(LinearMixingNet):
    """Deep autoencoder for linear spectral unmixing.

    Encoder (Brun et al. 2024, Table 2): Dense 9R -> 6R -> 3R -> R (no bias,
    LeakyReLU 0.1), batch normalisation, dynamical soft thresholding,
    abundance sum-to-one (ASC), Gaussian dropout. Decoder: one linear layer
    without bias whose non-negative weights ``(B, R)`` are the endmembers.

    Parameters
    ----------
    n_channels : int
        Spectral channels ``B``.
    n_components : int
        Endmembers ``R``.
    hidden_factors : tuple of int, default (9, 6, 3)
        Widths of the hidden layers, in multiples of ``R``.
    negative_slope : float, default 0.1
        Slope of the LeakyReLU activations.
    dropout : float, default 0.1
        Rate ``p`` of the Gaussian dropout on the abundances (multiplicative
        noise of standard deviation ``sqrt(p / (1 - p))``, training only).
    """

    def __init__(
        self,
        n_channels,
        n_components,
        hidden_factors=(9, 6, 3),
        negative_slope=0.1,
        dropout=0.1,
    ):
        super().__init__()
        # Constructor arguments: what a model file needs to rebuild the network.
        self.config = dict(
            n_channels=int(n_channels),
            n_components=int(n_components),
            hidden_factors=[int(f) for f in hidden_factors],
            negative_slope=float(negative_slope),
            dropout=float(dropout),
        )
        widths = [n_channels] + [f * n_components for f in hidden_factors]
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(n_in, n_out, bias=False), nn.LeakyReLU(negative_slope)]
        layers += [
            nn.Linear(widths[-1], n_components, bias=False),
            nn.LeakyReLU(negative_slope),
            nn.BatchNorm1d(n_components),
        ]
        self.encoder = nn.Sequential(*layers)
        # Learned threshold alpha >= 0 of relu(x - alpha), one per component.
        self.threshold = nn.Parameter(torch.zeros(n_components))
        self.dropout = float(dropout)
        self._add_decoder(n_channels, n_components)

    def abundances(self, x):
        """Encode spectra ``(N, B)`` to abundances ``(N, R)``, >= 0, summing to 1."""
        h = self.encoder(x)
        return normalised_abundances(torch.relu(h - self.threshold.clamp_min(0.0)))

    def loss(self, x):
        """Training loss of a batch of (scaled) spectra: the mean spectral angle
        between them and their reconstructions."""
        x_hat, _ = self(x)
        return self.reconstruction_loss(x, x_hat, spectral_angle_loss)

    def pairs(self, x):
        """Spectra and their abundances (for the intensity calibration)."""
        return x, self.abundances(x)

    def forward(self, x):
        a = self.abundances(x)
        if self.training and self.dropout > 0:
            std = (self.dropout / (1.0 - self.dropout)) ** 0.5
            a = a * (1.0 + std * torch.randn_like(a))
        return self.decoder(a), a

    @torch.no_grad()
    def project_(self):
        """Keep the endmembers and the threshold non-negative."""
        super().project_()
        self.threshold.clamp_(min=0.0)
