"""What every unmixing autoencoder shares: a non-negative linear decoder whose
weights are the endmembers, and the losses and abundance layers they use."""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "LinearMixingNet",
    "OBJECTIVES",
    "normalised_abundances",
    "poisson_deviance",
    "spectral_angle",
    "spectral_angle_loss",
]


class LinearMixingNet(nn.Module):
    """Base of the unmixing networks: ``decoder`` maps ``R`` abundances to
    ``B`` channels, its non-negative weights ``(B, R)`` are the endmembers.

    Subclasses build their encoder, then call ``self._add_decoder(n_channels,
    n_components)`` (last, so that the encoder's random initial weights do
    not depend on the decoder), and implement ``loss(batch)`` and
    ``pairs(batch) -> (spectra, abundances)`` (the spectra of a batch of
    samples and their abundances, for the intensity calibration after
    training).
    """

    #: Learning rate of the decoder relative to the rest of the network.
    decoder_lr_factor = 1.0

    #: What the reconstruction is scored with (one of :data:`OBJECTIVES`):
    #: the network's own published loss, or the Poisson deviance of counts.
    objective = "original"

    #: Plain attributes (not tensors) a model file keeps.
    state_attributes = ("decoder_lr_factor", "objective")

    def reconstruction_loss(self, x, x_hat, original):
        """The data term of a batch: ``original(x, x_hat)`` (the network's
        published loss, a scalar), or the Poisson deviance of the counts
        with a free intensity per spectrum (:func:`poisson_deviance`)."""
        if self.objective == "poisson":
            return poisson_deviance(x, x_hat)
        return original(x, x_hat)

    def _add_decoder(self, n_channels, n_components):
        self.n_components = int(n_components)
        self.n_channels = int(n_channels)
        self.decoder = nn.Linear(self.n_components, self.n_channels, bias=False)

    @property
    def endmembers(self) -> torch.Tensor:
        """Decoder weights as ``(R, B)`` endmember spectra."""
        return self.decoder.weight.T

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

    def freeze_endmembers(self, frozen=True):
        """Stop (or restart) the endmembers from learning (a warm-up)."""
        self.decoder.weight.requires_grad_(not frozen)

    @torch.no_grad()
    def project_(self):
        """Keep the endmembers non-negative (after every optimiser step)."""
        self.decoder.weight.clamp_(min=0.0)

    @torch.no_grad()
    def set_endmembers(self, endmembers):
        """Initialise the decoder from ``(R, B)`` endmember spectra."""
        w = torch.as_tensor(endmembers, dtype=self.decoder.weight.dtype)
        self.decoder.weight.copy_(w.T.clamp_min(0.0))


def normalised_abundances(h, eps=1e-12):
    """Non-negative ``h`` ``(..., R)`` divided by its sum (abundance
    sum-to-one); an all-zero row gets equal abundances rather than 0 / 0."""
    total = h.sum(dim=-1, keepdim=True)
    uniform = torch.full_like(h, 1.0 / h.shape[-1])
    return torch.where(total > eps, h / total.clamp_min(eps), uniform)


def spectral_angle(x, x_hat, eps=1e-7):
    """Per-spectrum spectral angle (radians) along the last axis."""
    cos = torch.nn.functional.cosine_similarity(x, x_hat, dim=-1, eps=1e-12)
    return torch.acos(cos.clamp(-1.0 + eps, 1.0 - eps))


def spectral_angle_loss(x, x_hat, eps=1e-7):
    """Mean per-spectrum spectral angle (radians) between ``x`` and ``x_hat``.

    This is the true spectral angle distance of each spectrum, averaged over
    the batch (not the arccos of a batch-averaged cosine).
    """
    return spectral_angle(x, x_hat, eps).mean()


#: The reconstruction objectives of :class:`LinearMixingNet`.
OBJECTIVES = ("original", "poisson")


def poisson_deviance(x, x_hat, eps=1e-8):
    """Poisson deviance of counts ``x`` against ``x_hat``, each spectrum's
    intensity free, per count of the batch.

    With ``x ~ Poisson(c * x_hat)`` and the best ``c`` of each spectrum
    (``sum(x) / sum(x_hat)``), the negative log-likelihood is the multinomial
    one: ``sum_b x_b log(q_b / p_b)`` with ``q = x / sum(x)`` and ``p = x_hat
    / sum(x_hat)``, zero for a perfect fit. Unlike squared error or the
    spectral angle it weighs each channel by its counts (a 0.5-count channel
    is not a 500-count one), and like the spectral angle it is blind to a
    spectrum's scale (thickness x dose), which the sum-to-one abundances
    cannot follow. Divided by the batch's total counts, so that its size
    does not depend on the data's units or dose.
    """
    # ``+ eps`` rather than a clamp: a channel the model leaves at zero (a
    # random decoder projected to >= 0) must still get a gradient.
    p = x_hat.clamp_min(0.0) + eps
    p = p / p.sum(dim=-1, keepdim=True)
    total = x.sum(dim=-1, keepdim=True)
    q = x / total.clamp_min(eps)
    # xlogy: 0 log 0 = 0 without a masked copy of the batch (x >= 0; p > 0).
    terms = torch.xlogy(x, q).sum() - (x * torch.log(p)).sum()
    return terms / total.sum().clamp_min(eps)
