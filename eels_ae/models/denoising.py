"""The RapidEELS 1-D convolutional denoising autoencoder (Pate et al. 2021)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ByteDropout

__all__ = ["CodeDecoderFit", "ConvDenoisingAE", "conv_lengths"]

#: RapidEELS encoder: (filters, kernel) of the five stride-2 Conv1D layers.
RAPIDEELS_LAYERS = ((8, 7), (16, 7), (16, 5), (32, 5), (64, 3))


#: Negative slope of the activations. RapidEELS used ReLU; with ReLU, a few
#: large early steps could kill every unit of a layer and leave the network
#: predicting one mean spectrum for ever (seen with 3 x 3 neighbourhoods).
LEAK = 0.01


def conv_lengths(n_channels, n_layers):
    """Signal length after each stride-2 "same" convolution: ceil(L / 2)."""
    lengths = [int(n_channels)]
    for _ in range(n_layers):
        lengths.append((lengths[-1] + 1) // 2)
    return lengths


class ConvDenoisingAE(nn.Module):
    """Conv1D encoder -> small latent space -> mirrored transposed-conv decoder.

    Parameters
    ----------
    n_channels : int
        Energy channels of a spectrum (any number; RapidEELS used 240).
    in_spectra : int, default 1
        Spectra per sample: 1, or the pixels of a spatial neighbourhood (the
        centre first). Each is encoded by the same encoder and their latent
        codes are averaged with learned weights (softmax over the
        neighbourhood, starting uniform) before decoding: the neighbours
        lower the noise of the code, while the decoder still makes one
        spectrum.
    latent_dim : int, default 5
    layers : sequence of (filters, kernel), default RapidEELS
    objective : {"target", "masked"}, default "target"
        What :meth:`loss` compares: the output with a target spectrum stacked
        last in each sample (RapidEELS: a spatial average), or, with no
        target, the pixel's own spectrum on randomly hidden channels
        (Noise2Self, Batson & Royer 2019).
    mask_fraction : float, default 0.2
        Channels hidden per spectrum with ``objective="masked"``.
    dropout : float, default 0.2
        After each encoder layer but the last, as in RapidEELS
        (:class:`~eels_ae.models.layers.ByteDropout`: the same element-wise
        dropout, drawn four times faster).

    Notes
    -----
    Input ``(batch, in_spectra, n_channels)``, output ``(batch, n_channels)``.
    Stacking the neighbours as input channels of the first convolution
    instead trained worse than the pixel alone (its 8 filters must both
    average and detect features); pooling the codes does not have that
    problem.
    Stride-2 convolutions with padding ``kernel // 2`` halve the length
    (rounding up), as Keras' ``padding="same"``; the decoder asks each
    transposed convolution for the exact length of the mirrored encoder layer,
    so any number of channels works.
    """

    def __init__(
        self,
        n_channels,
        in_spectra=1,
        latent_dim=5,
        layers=RAPIDEELS_LAYERS,
        dropout=0.2,
        *,
        objective="target",
        mask_fraction=0.2,
    ):
        super().__init__()
        layers = [(int(f), int(k)) for f, k in layers]
        self.config = dict(
            n_channels=int(n_channels),
            in_spectra=int(in_spectra),
            latent_dim=int(latent_dim),
            layers=[list(p) for p in layers],
            dropout=float(dropout),
            objective=str(objective),
            mask_fraction=float(mask_fraction),
        )
        self.objective, self.mask_fraction = str(objective), float(mask_fraction)
        self.n_channels = int(n_channels)
        self.lengths = conv_lengths(n_channels, len(layers))
        self.in_spectra = int(in_spectra)
        self.pool_logits = nn.Parameter(torch.zeros(self.in_spectra))
        enc = []
        prev = 1
        for i, (filters, kernel) in enumerate(layers):
            enc.append(nn.Conv1d(prev, filters, kernel, stride=2, padding=kernel // 2))
            enc.append(nn.LeakyReLU(LEAK))
            if i < len(layers) - 1 and dropout:
                enc.append(ByteDropout(dropout))
            prev = filters
        self.encoder = nn.Sequential(*enc)
        flat = prev * self.lengths[-1]
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        self._bottom = (prev, self.lengths[-1])
        # Mirror: transposed convolutions back up, same filters and kernels.
        self.decoder = nn.ModuleList()
        widths = [f for f, _ in layers][::-1]
        kernels = [k for _, k in layers][::-1]
        ins = [prev] + widths[:-1]
        for filters_in, filters_out, kernel in zip(ins, widths, kernels, strict=True):
            self.decoder.append(
                nn.ConvTranspose1d(
                    filters_in, filters_out, kernel, stride=2, padding=kernel // 2
                )
            )
        self.output = nn.ConvTranspose1d(
            widths[-1], 1, layers[0][1], padding=layers[0][1] // 2
        )
        # The network works on standardised deviations from typical spectra:
        # on raw low-dose counts the interesting variations are a few % of
        # the signal, and training sat for many epochs on the "mean spectrum"
        # plateau (measured with 3 x 3 neighbourhoods) before it found them.
        for name in ("input_mean", "output_mean"):
            self.register_buffer(name, torch.zeros(self.n_channels))
        for name in ("input_std", "output_std"):
            self.register_buffer(name, torch.ones(self.n_channels))

    @torch.no_grad()
    def set_statistics(self, inputs, outputs):
        """Standardise with the per-channel mean and std of typical samples.

        Parameters
        ----------
        inputs : array-like, shape (n, n_channels)
            Typical input spectra (already normalised as the model sees them).
        outputs : array-like, shape (n, n_channels)
            Typical targets.
        """
        for prefix, data in (("input", inputs), ("output", outputs)):
            data = torch.as_tensor(data, dtype=torch.float32)
            mean, std = data.mean(dim=0), data.std(dim=0)
            # Channels that barely vary keep a floor: no division by ~0.
            std = torch.clamp(std, min=1e-3 * float(std.max()) + 1e-12)
            getattr(self, f"{prefix}_mean").copy_(mean)
            getattr(self, f"{prefix}_std").copy_(std)

    @property
    def neighbourhood(self):
        """Width of the square neighbourhood whose codes are pooled."""
        return math.isqrt(self.in_spectra)

    def encode_each(self, x):
        """Code of each spectrum alone, before pooling: ``(..., C) -> (...,
        latent_dim)``."""
        shape, c = x.shape[:-1], x.shape[-1]
        h = self.encoder(((x - self.input_mean) / self.input_std).reshape(-1, 1, c))
        return self.to_latent(h.flatten(1)).view(*shape, -1)

    def pool_kernel(self):
        """Pooling weights as a ``(size, size)`` grid (they sum to one).

        ``pool_logits`` hold the centre first, then the neighbours row by
        row (the order of :func:`eels_ae.spatial.neighbourhood_offsets`).
        """
        n = self.neighbourhood
        centre = self.in_spectra // 2
        order = [centre] + [i for i in range(self.in_spectra) if i != centre]
        weights = torch.softmax(self.pool_logits, dim=0)
        index = torch.tensor(order, device=weights.device)
        grid = torch.zeros_like(weights).index_put((index,), weights)
        return grid.view(n, n)

    def pool_codes(self, z):
        """Pooled codes of the inner pixels of grids of per-spectrum codes.

        ``z``: ``(batch, rows + 2h, columns + 2h, latent_dim)`` with ``h =
        size // 2`` (an image's pixels and a ring of neighbours); returns
        ``(batch, rows, columns, latent_dim)``: each pixel's code, computed
        once, serves every neighbour (one encoding per pixel instead of
        ``size**2`` for separate neighbourhood stacks).
        """
        n = self.neighbourhood
        if n == 1:
            return z
        kernel = self.pool_kernel()
        rows, cols = z.shape[1] - n + 1, z.shape[2] - n + 1
        out = 0
        for dy in range(n):
            for dx in range(n):
                out = out + kernel[dy, dx] * z[:, dy : dy + rows, dx : dx + cols]
        return out

    def encode(self, x):
        """Latent codes ``(batch, latent_dim)`` of input ``(batch, in_spectra, C)``."""
        k = x.shape[1]
        z = self.encode_each(x)
        if k == 1:
            return z[:, 0]
        weights = torch.softmax(self.pool_logits, dim=0)
        return torch.einsum("bkl,k->bl", z, weights)

    def decode(self, z):
        """Spectra ``(batch, n_channels)`` from latent codes."""
        h = F.leaky_relu(self.from_latent(z), LEAK).view(-1, *self._bottom)
        targets = self.lengths[-2::-1]
        for layer, length in zip(self.decoder, targets, strict=True):
            h = F.leaky_relu(layer(h, output_size=[length]), LEAK)
        return self.output(h).squeeze(1) * self.output_std + self.output_mean

    def forward(self, x):
        return self.decode(self.encode(x))

    def loss(self, x):
        """Training loss of a batch of samples ``(batch, spectra, channels)``.

        ``"target"``: mean squared error between the output for the input
        spectra and the target stacked last. ``"masked"`` (Noise2Self): the
        error on randomly hidden channels of the pixel's own spectrum, whose
        hidden channels the network sees as the mean of their neighbours,
        never as their own value.
        """
        if self.objective == "target":
            return torch.mean((self(x[:, :-1]) - x[:, -1]) ** 2)
        centre = x[:, 0]
        mask = torch.rand(centre.shape, device=x.device) < self.mask_fraction
        left = torch.cat([centre[:, 1:2], centre[:, :-1]], dim=1)
        right = torch.cat([centre[:, 1:], centre[:, -2:-1]], dim=1)
        x_in = x.clone()
        x_in[:, 0] = torch.where(mask, 0.5 * (left + right), centre)
        err = (self(x_in) - centre) ** 2
        return (err * mask).sum() / mask.sum().clamp(min=1)


class CodeDecoderFit(nn.Module):
    """Training of a :class:`ConvDenoisingAE`'s decoder alone, on given codes.

    Samples are ``(batch, latent_dim + n_channels)``: a code, then the
    spectrum it should decode to. The encoder is not trained (it is not in
    the optimiser's groups): the decoder learns what the codes it will be
    given mean, e.g. codes averaged with their neighbours', which are less
    noisy than the pooled codes it was trained on, so it can shrink them
    less towards a typical spectrum.

    Parameters
    ----------
    model : ConvDenoisingAE
        Trained in place (its decoder's weights).
    lr_factor : float, default 0.25
        Learning rate of the decoder relative to the estimator's.
    """

    def __init__(self, model, lr_factor=0.25):
        super().__init__()
        self.model = model
        self.lr_factor = float(lr_factor)

    def train(self, mode=True):
        super().train(mode)
        # The codes come from the encoder in inference mode (no dropout).
        self.model.encoder.eval()
        return self

    def parameter_groups(self, learning_rate):
        m = self.model
        params = [
            *m.from_latent.parameters(),
            *m.decoder.parameters(),
            *m.output.parameters(),
        ]
        return [{"params": params, "lr": learning_rate * self.lr_factor}]

    def loss(self, x):
        k = self.model.to_latent.out_features
        return torch.mean((self.model.decode(x[:, :k]) - x[:, k:]) ** 2)
