"""The MTAEU network (Palsson et al. 2019): spectral-spatial multitask
autoencoder over a pixel's neighbourhood."""

from __future__ import annotations

import torch
from torch import nn

from .unmixing import LinearMixingNet, spectral_angle_loss

__all__ = ["MTAEUNet"]


class MTAEUNet(LinearMixingNet):
    """Multitask unmixing autoencoder.

    The ``K`` spectra of a pixel's neighbourhood (the pixel first) are
    concatenated, corrupted with Gaussian noise while training, and go
    through one shared hidden layer (LeakyReLU 0.2, dropout, batch norm);
    one head per spectrum (Dense R, batch norm, dropout 0.1, ``softmax(3
    x)``) gives that spectrum's abundances, and every head shares the one
    non-negative linear decoder (the endmembers). The loss is the mean
    spectral angle of the ``K`` reconstructions: each pixel's abundances are
    informed by its neighbours.

    Parameters
    ----------
    n_channels, n_components : int
    n_neighbours : int
        Spectra per sample ``K`` (9 for a 3 x 3 neighbourhood).
    hidden_factor : int, default 9
        Width of the shared hidden layer in multiples of ``n_components``.
    noise : float, default 0.05
        Standard deviation of the Gaussian input noise (data scaled to a
        maximum of 1).
    dropout : float, default 0.5
        Dropout of the shared hidden layer.
    """

    def __init__(
        self,
        n_channels,
        n_components,
        n_neighbours,
        hidden_factor=9,
        noise=0.05,
        dropout=0.5,
    ):
        super().__init__()
        self.config = dict(
            n_channels=int(n_channels),
            n_components=int(n_components),
            n_neighbours=int(n_neighbours),
            hidden_factor=int(hidden_factor),
            noise=float(noise),
            dropout=float(dropout),
        )
        K, R = int(n_neighbours), int(n_components)
        width = int(hidden_factor) * R
        self.noise = float(noise)
        self.shared = nn.Sequential(
            nn.Linear(K * n_channels, width),
            nn.LeakyReLU(0.2),
            nn.Dropout(float(dropout)),
            nn.BatchNorm1d(width),
        )
        # All K heads as one layer: (N, width) -> (N, K * R).
        self.heads = nn.Linear(width, K * R)
        self.head_norm = nn.BatchNorm1d(K * R)
        self.head_dropout = nn.Dropout(0.1)
        self.n_neighbours = K
        self._add_decoder(n_channels, n_components)

    def head_abundances(self, x):
        """Abundances ``(N, K, R)`` of each spectrum of neighbourhoods
        ``(N, K, B)``."""
        n = x.shape[0]
        first = self.shared[0]
        h = first(x.reshape(n, -1))
        if self.training and self.noise > 0:
            h = h + self._projected_noise(n, first.weight)
        h = self.shared[1:](h)
        h = self.head_dropout(self.head_norm(self.heads(h)))
        return torch.softmax(3.0 * h.reshape(n, self.n_neighbours, -1), dim=-1)

    def _projected_noise(self, n, weight):
        """Gaussian input noise as the first layer sees it: ``W e`` with ``e ~
        N(0, noise^2 I)`` has the law of ``noise * L u``, ``L L^T = W W^T``,
        ``u ~ N(0, I)`` of the layer's width, which costs ``width`` random
        numbers per sample instead of ``K * B`` (measured: drawing the input
        noise was 13 % of the training time on 903 channels)."""
        gram = weight @ weight.T
        jitter = 1e-6 * gram.diagonal().mean().detach() + 1e-12
        eye = torch.eye(len(gram), dtype=gram.dtype, device=gram.device)
        L = torch.linalg.cholesky(gram + jitter * eye)
        u = torch.randn(n, len(gram), dtype=weight.dtype, device=weight.device)
        return self.noise * u @ L.T

    def abundances(self, x):
        """Abundances ``(N, R)`` of the centre pixels."""
        return self.head_abundances(x)[:, 0]

    def pairs(self, x):
        """Centre spectra and their abundances (intensity calibration)."""
        return x[:, 0], self.abundances(x)

    def loss(self, x):
        """Mean spectral angle of the reconstructions of all K spectra."""
        x_hat = self.decoder(self.head_abundances(x))
        return self.reconstruction_loss(x, x_hat, spectral_angle_loss)
