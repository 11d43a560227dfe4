"""A variational autoencoder over single spectra (Roccapriore et al. 2024, "1D VAE")."""

from __future__ import annotations

import torch
from torch import nn

from .variational import gaussian_kl, gaussian_nll, poisson_nll, reparameterize

__all__ = ["SpectrumVAE"]

#: Default hidden widths: the first layer compresses a few hundred channels
#: ~2-4x, the second funnels into the latent space (atomai's VAE uses two
#: 128-wide layers). Deeper or wider nets only fit the noise of the few
#: thousand spectra of a typical spectrum image.
DEFAULT_HIDDEN = (256, 128)


def _mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        # ELU: smooth (a smooth latent manifold) and, unlike tanh, no
        # saturation for spectra that are far from the mean.
        layers += [nn.Linear(n_in, n_out), nn.ELU()]
    return nn.Sequential(*layers)


class SpectrumVAE(nn.Module):
    """Fully connected VAE: spectrum -> ``(mu, logvar)`` -> spectrum.

    Parameters
    ----------
    n_channels : int
        Energy channels of each spectrum.
    latent_dim : int, default 2
        Latent variables (Roccapriore et al. 2024 uses 2, which can be looked at).
    hidden : sequence of int, default (256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    log_output : bool, default False
        ``True``: the decoder's last layer gives the log of the mean (a
        Poisson rate), so decoded spectra are positive; ``False``: the mean
        itself (Gaussian likelihood).
    normalize : {"global", "spectrum"}, default "global"
        What the encoder sees (:meth:`encoder_input`): the spectra as given,
        or each divided by its own mean (shapes only; the decoded shape is
        scaled back by that mean).
    beta : float, default 1.0
        Weight of the KL term in :meth:`loss`.
    noise_variance : float or None, default None
        Gaussian noise variance per channel of the spectra the network sees
        (the data divided by ``scale``); required for the Gaussian
        likelihood (``log_output=False``).
    scale : float, default 1.0
        The factor the data were divided by: Poisson rates are in counts.

    Notes
    -----
    :meth:`forward` returns the decoder's raw output (the log-rate when
    ``log_output``) for a numerically stable loss; :meth:`decode` applies the
    link and gives the mean spectrum.
    """

    def __init__(
        self,
        n_channels,
        latent_dim=2,
        hidden=DEFAULT_HIDDEN,
        log_output=False,
        *,
        normalize="global",
        beta=1.0,
        noise_variance=None,
        scale=1.0,
    ):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        self.config = dict(
            n_channels=int(n_channels),
            latent_dim=int(latent_dim),
            hidden=list(hidden),
            log_output=bool(log_output),
            normalize=str(normalize),
            beta=float(beta),
            noise_variance=None if noise_variance is None else float(noise_variance),
            scale=float(scale),
        )
        self.normalize, self.beta = str(normalize), float(beta)
        self.noise_variance = self.config["noise_variance"]
        self.scale = float(scale)
        self.n_channels, self.latent_dim = int(n_channels), int(latent_dim)
        self.log_output = bool(log_output)
        self.encoder = _mlp((self.n_channels,) + hidden)
        width = hidden[-1] if hidden else self.n_channels
        self.to_mu = nn.Linear(width, self.latent_dim)
        self.to_logvar = nn.Linear(width, self.latent_dim)
        back = hidden[::-1]
        self.decoder = _mlp((self.latent_dim,) + back)
        self.to_output = nn.Linear(back[-1] if back else self.latent_dim, n_channels)

    def set_mean_spectrum(self, mean):
        """Start the decoder at the mean spectrum (output bias), so that
        training begins from the data's average and not from zero."""
        mean = torch.as_tensor(mean, dtype=self.to_output.bias.dtype)
        if self.log_output:
            mean = torch.log(mean.clamp(min=1e-6))
        with torch.no_grad():
            self.to_output.bias.copy_(mean)
            self.to_output.weight.mul_(0.1)

    def encode(self, x):
        """Posterior mean and log-variance, each ``(batch, latent_dim)``."""
        h = self.encoder(x)
        # Bounded log-variance: sd between ~2e-4 and ~150 keeps exp() finite.
        return self.to_mu(h), self.to_logvar(h).clamp(-17.0, 10.0)

    def decode_raw(self, z):
        """Decoder output before the link (the log-rate when ``log_output``)."""
        return self.to_output(self.decoder(z))

    def decode(self, z):
        """Mean spectrum of latent codes ``z`` (``(batch, latent_dim)``)."""
        out = self.decode_raw(z)
        return torch.exp(out) if self.log_output else out

    def encoder_input(self, x):
        """What the encoder sees, and the factor its decoded output is scaled by."""
        if self.normalize == "global":
            return x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)
        norm = x.mean(dim=1, keepdim=True).clamp(min=1e-6)
        return x / norm, norm

    def loss(self, x):
        """Negative ELBO per spectrum of scaled spectra ``x``: likelihood in
        data units + ``beta`` * KL, averaged over the batch."""
        x_in, norm = self.encoder_input(x)
        out, mu, logvar = self(x_in)
        if self.log_output:
            # Rate in counts; log-space keeps it positive and exp() stable.
            rate = torch.exp(out + torch.log(norm * self.scale))
            nll = poisson_nll(rate, (x * self.scale).clamp(min=0))
        else:
            nll = gaussian_nll(out * norm, x, self.noise_variance)
        return torch.mean(nll + self.beta * gaussian_kl(mu, logvar))

    def forward(self, x, sample=True):
        """``(raw_output, mu, logvar)``; ``sample`` draws ``z`` (training)."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar) if sample else mu
        return self.decode_raw(z), mu, logvar
