"""The uDAS network (Qu & Qi 2018): untied denoising autoencoder with sparsity."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .unmixing import LinearMixingNet, normalised_abundances

__all__ = ["UDASNet", "marginalised_denoiser"]


class UDASNet(LinearMixingNet):
    """Untied denoising autoencoder for unmixing.

    A fixed marginalised denoising layer ``D`` (``B x B``, closed form from
    the data, see :func:`marginalised_denoiser`), an encoder ``W`` (``R x
    B``) that is *not* the decoder's transpose (untied), non-negative
    sum-to-one abundances, and the non-negative linear decoder (the
    endmembers). Training corrupts the input (each channel dropped with
    probability ``corruption``) and reconstructs the clean spectrum (mean
    squared error), with an l2,1 penalty on the encoder's columns (few
    channels carry the abundances: a sparse, denoising encoder).

    Parameters
    ----------
    n_channels, n_components : int
    corruption : float, default 0.1
        Probability of dropping each input channel during training.
    sparsity : float, default 1e-4
        Weight of the l2,1 norm of the encoder's weights.
    """

    def __init__(self, n_channels, n_components, corruption=0.1, sparsity=1e-4):
        super().__init__()
        self.config = dict(
            n_channels=int(n_channels),
            n_components=int(n_components),
            corruption=float(corruption),
            sparsity=float(sparsity),
        )
        self.corruption = float(corruption)
        self.sparsity = float(sparsity)
        self.register_buffer("denoiser", torch.eye(int(n_channels)))
        self.encoder = nn.Linear(n_channels, n_components, bias=False)
        self._add_decoder(n_channels, n_components)

    @torch.no_grad()
    def set_denoiser(self, matrix):
        """The ``(B, B)`` marginalised denoising matrix (applied as ``x @ D.T``)."""
        self.denoiser.copy_(torch.as_tensor(matrix, dtype=self.denoiser.dtype))

    def abundances(self, x):
        """Abundances ``(N, R)`` of spectra ``(N, B)``: >= 0, summing to 1."""
        return normalised_abundances(torch.relu(self.encoder(x @ self.denoiser.T)))

    def pairs(self, x):
        """Spectra and their abundances (for the intensity calibration)."""
        return x, self.abundances(x)

    def forward(self, x):
        a = self.abundances(x)
        return self.decoder(a), a

    def loss(self, x):
        """Reconstruction of the clean spectra from corrupted ones, plus the
        l2,1 sparsity of the encoder."""
        noisy = x
        if self.training and self.corruption > 0:
            keep = torch.rand_like(x) >= self.corruption
            noisy = x * keep / (1.0 - self.corruption)
        x_hat, _ = self(noisy)
        data = self.reconstruction_loss(x, x_hat, _sum_squares)
        l21 = self.encoder.weight.norm(dim=0).sum()
        return data + self.sparsity * l21


def marginalised_denoiser(X, corruption, ridge=1e-6):
    """Closed-form marginalised denoising matrix (Chen et al. 2012 [Chen2012]_).

    The linear map ``D`` that best reconstructs the spectra ``X`` from
    copies with each channel dropped with probability ``corruption``, in
    expectation over all corruptions (no sampling): ``D = P Q^-1`` with
    ``S = X^T X``, ``Q = S * q q^T`` (diagonal ``S * q``) and ``P = S * q``
    (columns), ``q = 1 - corruption``.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_channels)
    corruption : float in [0, 1)
    ridge : float
        Relative regularisation of ``Q`` (channels without counts).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)
    """
    X = np.asarray(X, dtype=np.float64)
    q = 1.0 - float(corruption)
    S = X.T @ X
    Q = S * (q * q)
    np.fill_diagonal(Q, np.diag(S) * q)
    P = S * q
    Q[np.diag_indices_from(Q)] += ridge * max(np.trace(Q) / len(Q), 1e-300)
    # D Q = P  ->  D = P Q^-1 = (Q^-T P^T)^T, Q symmetric.
    return np.linalg.solve(Q, P.T).T


def _sum_squares(x, x_hat):
    """Squared error summed over channels, averaged over spectra (uDAS's loss)."""
    return ((x_hat - x) ** 2).sum(dim=1).mean()
