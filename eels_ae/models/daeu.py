"""The DAEU network (Palsson et al. 2018): a deep encoder, a linear decoder."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DAEUNet", "spectral_angle_loss"]


class DAEUNet(nn.Module):
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
        self.decoder = nn.Linear(n_components, n_channels, bias=False)
        self.n_components = n_components

    #: Learning rate of the decoder relative to the encoder's.
    decoder_lr_factor = 1.0

    #: Plain attributes (not tensors) a model file keeps.
    state_attributes = ("decoder_lr_factor",)

    def parameter_groups(self, learning_rate):
        """Optimiser groups: the decoder may learn slower than the encoder."""
        decoder = [p for p in self.decoder.parameters() if p.requires_grad]
        others = [
            p
            for n, p in self.named_parameters()
            if p.requires_grad and not n.startswith("decoder.")
        ]
        groups = [{"params": others, "lr": learning_rate}]
        if decoder:
            groups.append(
                {"params": decoder, "lr": learning_rate * self.decoder_lr_factor}
            )
        return groups

    @property
    def endmembers(self) -> torch.Tensor:
        """Decoder weights as ``(R, B)`` endmember spectra."""
        return self.decoder.weight.T

    def abundances(self, x):
        """Encode spectra ``(N, B)`` to abundances ``(N, R)``, >= 0, summing to 1."""
        h = self.encoder(x)
        h = torch.relu(h - self.threshold.clamp_min(0.0))
        total = h.sum(dim=1, keepdim=True)
        # A spectrum that thresholds to all zeros gets equal abundances
        # rather than a division by zero.
        uniform = torch.full_like(h, 1.0 / self.n_components)
        return torch.where(total > 1e-12, h / total.clamp_min(1e-12), uniform)

    def loss(self, x):
        """Training loss of a batch of (scaled) spectra: the mean spectral angle
        between them and their reconstructions."""
        x_hat, _ = self(x)
        return spectral_angle_loss(x, x_hat)

    def forward(self, x):
        a = self.abundances(x)
        if self.training and self.dropout > 0:
            std = (self.dropout / (1.0 - self.dropout)) ** 0.5
            a = a * (1.0 + std * torch.randn_like(a))
        return self.decoder(a), a

    @torch.no_grad()
    def project_(self):
        """Keep the endmembers (decoder weights) non-negative."""
        self.decoder.weight.clamp_(min=0.0)
        self.threshold.clamp_(min=0.0)

    @torch.no_grad()
    def set_endmembers(self, endmembers):
        """Initialise the decoder from ``(R, B)`` endmember spectra."""
        w = torch.as_tensor(endmembers, dtype=self.decoder.weight.dtype)
        self.decoder.weight.copy_(w.T.clamp_min(0.0))


def spectral_angle_loss(x, x_hat, eps=1e-7):
    """Mean per-spectrum spectral angle (radians) between ``x`` and ``x_hat``.

    This is the true spectral angle distance of each spectrum, averaged over
    the batch (not the arccos of a batch-averaged cosine).
    """
    cos = torch.nn.functional.cosine_similarity(x, x_hat, dim=1, eps=1e-12)
    return torch.acos(cos.clamp(-1.0 + eps, 1.0 - eps)).mean()
