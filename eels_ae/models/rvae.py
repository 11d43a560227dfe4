"""The multichannel rotationally invariant VAE of Roccapriore et al. 2024 (a spatial
VAE).

A patch of ``window x window`` pixels and ``n_channels`` channels is encoded
into an angle, two translation latents and ``latent_dim`` content latents.
The decoder is a coordinate network: it maps a pixel's coordinates in the
patch, together with the content latents, to that pixel's value in every
channel. Rotating and shifting the coordinate grid by the encoded angle and
shift rotates and shifts the decoded patch, so the content latents need not
describe the orientation or position of what they see.

The angle covers the full circle: the encoder gives a 2-D vector whose
direction is the angle (a real-valued angle with a Gaussian prior can only
cover an interval and jumps where the orientations wrap round). Its posterior
is a wrapped normal around that direction; the prior is uniform on the circle.
The encoder is exactly equivariant to quarter turns (it sees each patch in
its four quarter turns and averages what they say), so the angle can only
turn once with the patch, and the content latents do not change under a
quarter turn at all.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .variational import gaussian_kl, gaussian_nll, reparameterize

__all__ = ["RotationalVAE", "patch_grid"]

#: log(2 pi) - 1: for log-variances above this the Gaussian entropy exceeds
#: that of the uniform distribution on the circle (the wrapped normal is then
#: nearly uniform), so its KL to the uniform prior is taken as zero there.
_ANGLE_LOGVAR_MAX = math.log(2 * math.pi) - 1.0


def patch_grid(window):
    """Pixel coordinates ``(x, y)`` of a ``window x window`` patch, row by row.

    Both run over ``[-1, 1]`` (columns for ``x``, rows for ``y``); the
    rotation is about the patch centre.
    """
    half = max((window - 1) / 2, 0.5)
    t = (torch.arange(window, dtype=torch.float32) - (window - 1) / 2) / half
    y, x = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([x.ravel(), y.ravel()], dim=1)


def _quarter_turn(v, j):
    """2-D vectors ``(batch, 2)`` turned by ``j`` quarter turns (+x to +y)."""
    j %= 4
    if j == 0:
        return v
    x, y = v[:, 0], v[:, 1]
    if j == 1:
        return torch.stack([-y, x], 1)
    if j == 2:
        return -v
    return torch.stack([y, -x], 1)


def rotate_patches(x, angle):
    """Patches ``(batch, w, w, channels)`` turned by ``angle`` (batch,) radians.

    Bilinear interpolation about the patch centre, from ``+x`` towards
    ``+y`` as the decoder's angle; what comes in from outside is zero.
    """
    c, s = torch.cos(angle), torch.sin(angle)
    # Output pixel p samples the input at R(-angle) p.
    rot = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], 1)
    grid = patch_grid(x.shape[1]).to(x.device)
    src = torch.matmul(rot.unsqueeze(1), grid[None, :, :, None]).squeeze(-1)
    src = src.reshape(len(x), x.shape[1], x.shape[2], 2)
    out = nn.functional.grid_sample(
        x.permute(0, 3, 1, 2), src, align_corners=True, padding_mode="zeros"
    )
    return out.permute(0, 2, 3, 1)


def _mlp(n_in, hidden, n_layers):
    layers = []
    for i in range(n_layers):
        layers += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.Tanh()]
    return nn.Sequential(*layers)


class RotationalVAE(nn.Module):
    """Encoder to (angle, shift, z); coordinate decoder on a rotated, shifted grid.

    Parameters
    ----------
    window : int
        Patch width and height in pixels.
    n_channels : int
        Channels of a patch (abundance maps).
    latent_dim : int, default 2
        Content latents.
    rotation : bool, default True
        Encode an angle and rotate the decoder's grid by it. ``False`` (with
        ``translation=False``) gives a plain VAE on patches.
    translation : bool, default True
        Encode a shift ``(dx, dy)`` and shift the grid by it.
    hidden : int, default 64
        Units of every hidden layer (encoder and decoder).
    encoder_layers, decoder_layers : int, default 2
        Hidden layers (tanh) of the encoder MLP and of the coordinate decoder.
    translation_prior : float, default 0.5
        Standard deviation of the shift prior, in units of half a window.
    equivariance : float, default 1.0
        Weight of the rotation consistency term (see Notes); 0 turns it off.
    translation_warmup : int, default 0
        Epochs trained with the shift held at zero before the shift is used
        (see Notes); the training engine calls :meth:`start_epoch`.
    noise_variance : float or sequence of float, default 1.0
        Noise variance of the patches' values (one per channel), the scale of
        the Gaussian likelihood in :meth:`loss`.

    Notes
    -----
    Patches are channel-last, ``(batch, window, window, n_channels)``.
    The decoded patch is ``f(R(angle)^T (p - shift), z)`` at pixel
    coordinates ``p`` (:func:`patch_grid`): the template ``f`` rotated by
    ``angle`` (from ``+x`` towards ``+y``) and shifted by ``shift``.

    With rotation, the encoder runs on the patch turned by 0, 1, 2 and 3
    quarter turns (exact on a square grid); the angle's direction vectors
    (and the shifts) of the four, each turned back by its quarter turns, and
    the content latents are averaged. A quarter turn of the patch then turns
    the encoded angle by exactly pi/2 and leaves the content latents
    unchanged, whatever the weights: the angle cannot settle on turning
    twice, three times or not at all per turn of the patch, nor on knowing
    it only modulo pi, which are the local optima a reconstruction loss
    alone stalls in.

    Between quarter turns, training adds a consistency term to the negative
    ELBO: each batch is also encoded turned by a random angle ``delta`` in
    ``[-pi/4, pi/4]`` (bilinear interpolation, :func:`rotate_patches`), and
    ``equivariance * n_values * (1 - cos(angle_turned - angle - delta))`` is
    added per patch (``n_values`` the values in a patch: the term is on the
    scale of the likelihood). Without it the angle of an elongated motif
    with a small asymmetric part can jump by ~pi over a range of
    orientations (the body fits either way round; measured: 3 seeds in 10).

    With translation, a template drawn off the centre of the window,
    turned by the angle, can be put back by a shift that turns with it:
    shift and angle then trade off, and the angle of a motif can jump by
    about half a turn over a range of orientations (measured on the test
    motifs: shifts of 4-9 pixels in a 13-pixel window where it did). Training
    the first ``translation_warmup`` epochs without the shift makes the
    decoder draw its templates centred on the window (only then do windows
    centred on a motif reconstruct well), which fixes that trade-off before
    the shift can take part.
    """

    def __init__(
        self,
        window,
        n_channels,
        latent_dim=2,
        *,
        rotation=True,
        translation=True,
        hidden=64,
        encoder_layers=2,
        decoder_layers=2,
        translation_prior=0.5,
        equivariance=1.0,
        translation_warmup=0,
        noise_variance=1.0,
    ):
        super().__init__()
        noise = np.broadcast_to(np.asarray(noise_variance, float), (int(n_channels),))
        noise = [float(v) for v in noise]
        self.config = dict(
            window=int(window),
            n_channels=int(n_channels),
            latent_dim=int(latent_dim),
            rotation=bool(rotation),
            translation=bool(translation),
            hidden=int(hidden),
            encoder_layers=int(encoder_layers),
            decoder_layers=int(decoder_layers),
            translation_prior=float(translation_prior),
            equivariance=float(equivariance),
            translation_warmup=int(translation_warmup),
            noise_variance=noise,
        )
        self.window = int(window)
        self.n_channels = int(n_channels)
        self.latent_dim = int(latent_dim)
        self.rotation = bool(rotation)
        self.translation = bool(translation)
        self.translation_prior = float(translation_prior)
        self.equivariance = float(equivariance)
        self.translation_warmup = int(translation_warmup)
        self._epoch = 0
        self.register_buffer("grid", patch_grid(self.window), persistent=False)
        # Per-channel noise variance of the (normalised) maps: the likelihood's.
        self.register_buffer(
            "noise_variance",
            torch.as_tensor(noise, dtype=torch.float32),
            persistent=False,
        )
        n_in = self.window**2 * self.n_channels
        self.encoder = _mlp(n_in, hidden, encoder_layers)
        self.z_head = nn.Linear(hidden, 2 * self.latent_dim)
        # Angle: a direction (2) and a log-variance (1). Shift: means, log-vars.
        self.angle_head = nn.Linear(hidden, 3) if self.rotation else None
        self.shift_head = nn.Linear(hidden, 4) if self.translation else None
        self.dec_coord = nn.Linear(2, hidden)
        self.dec_z = nn.Linear(self.latent_dim, hidden, bias=False)
        layers = []
        for _ in range(decoder_layers - 1):
            layers += [nn.Tanh(), nn.Linear(hidden, hidden)]
        layers += [nn.Tanh(), nn.Linear(hidden, self.n_channels)]
        self.dec_body = nn.Sequential(*layers)

    # -- training schedule -----------------------------------------------------
    #: Plain attributes (not tensors) a model file keeps: the epoch decides
    #: whether the shift is used (it is held at zero during the warm-up).
    state_attributes = ("_epoch",)

    def start_epoch(self, epoch):
        """Called by the training engine before each epoch."""
        self._epoch = int(epoch)

    @property
    def warming_up(self):
        """True while the shift is held at zero (the first epochs)."""
        return self.translation and self._epoch < self.translation_warmup

    # -- encoder -------------------------------------------------------------
    def encode(self, x):
        """Posterior parameters of a batch of patches.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, window, window, n_channels)

        Returns
        -------
        dict of torch.Tensor
            ``z_mu``, ``z_logvar`` (batch, latent_dim); with rotation
            ``angle`` (batch,) in ``(-pi, pi]`` and ``angle_logvar``; with
            translation ``shift`` (batch, 2), the mean shift ``(dx, dy)`` in
            grid units, and ``u_mu``, ``u_logvar``, the standardised shift
            latents (``shift = translation_prior * u``).
        """
        if self.rotation:
            return self._encode_turns(x)
        return self._finish(self._heads(self.encoder(x.flatten(1))))

    def _heads(self, h):
        """Raw head outputs: the angle as an unnormalised direction."""
        z = self.z_head(h)
        out = {"z_mu": z[:, : self.latent_dim], "z_logvar": z[:, self.latent_dim :]}
        if self.rotation:
            a = self.angle_head(h)
            out["direction"] = a[:, :2]
            out["angle_logvar"] = a[:, 2]
        if self.translation:
            s = self.shift_head(h)
            out["u_mu"], out["u_logvar"] = s[:, :2], s[:, 2:]
        return out

    def _finish(self, out):
        if self.rotation:
            d = out.pop("direction")
            out["angle"] = torch.atan2(d[:, 1], d[:, 0])
        if self.translation:
            # Still warming up (e.g. training interrupted then): no shift yet.
            scale = 0.0 if self.warming_up else self.translation_prior
            out["shift"] = scale * out["u_mu"]
        return out

    def _encode_turns(self, x):
        # The patch in its four quarter turns, through the same encoder. A
        # turn by -j quarter turns of the pixels (torch.rot90(x, -j)) turns
        # the content by +j pi/2: turning each head's vector back by j pi/2
        # and averaging gives a direction (and shift) that turns exactly with
        # the patch, and content latents that do not change at all.
        if torch.is_grad_enabled():
            # Training: the four turns as one batch (one matrix product).
            n = len(x)
            turns = torch.cat([torch.rot90(x, -j, dims=(1, 2)) for j in range(4)])
            parts = self._heads(self.encoder(turns.flatten(1)))
            parts = {k: list(v.reshape(4, n, *v.shape[1:])) for k, v in parts.items()}
        else:
            # Encoding (large maps): no turned copies of the batch; the first
            # layer's weights are turned instead (a permutation of columns).
            first, rest = self.encoder[0], self.encoder[1:]
            flat = x.reshape(len(x), -1)
            parts = {}
            for j in range(4):
                weight = first.weight[:, self._turn_columns(j)]
                h = rest(nn.functional.linear(flat, weight, first.bias))
                for k, v in self._heads(h).items():
                    parts.setdefault(k, []).append(v)
        out = {}
        for key, values in parts.items():
            if key in ("direction", "u_mu"):
                values = [_quarter_turn(v, -j) for j, v in enumerate(values)]
            out[key] = torch.stack(values).mean(0)
        return self._finish(out)

    def _turn_columns(self, j):
        """Columns ``c`` with ``W[:, c] @ vec(x) == W @ vec(rot90(x, -j))``."""
        w, C = self.window, self.n_channels
        index = torch.arange(w * w * C, device=self.grid.device).reshape(w, w, C)
        # vec(rot90(x))[i] = vec(x)[perm[i]], so W @ vec(rot90(x)) is
        # W[:, argsort(perm)] @ vec(x).
        perm = torch.rot90(index, -j, dims=(0, 1)).reshape(-1)
        return torch.argsort(perm)

    # -- decoder -------------------------------------------------------------
    def decode(self, z, angle=None, shift=None, grid=None):
        """Patches (or any set of pixels) decoded from latent values.

        Parameters
        ----------
        z : torch.Tensor, shape (batch, latent_dim)
        angle : torch.Tensor, shape (batch,), optional
            Rotation of the decoded template (radians); 0 if omitted.
        shift : torch.Tensor, shape (batch, 2), optional
            ``(dx, dy)`` in grid units (the patch spans [-1, 1]); 0 if omitted.
        grid : torch.Tensor, shape (n_points, 2), optional
            Coordinates to decode at; the whole patch by default.

        Returns
        -------
        torch.Tensor
            ``(batch, window, window, n_channels)`` for the whole patch, else
            ``(batch, n_points, n_channels)``.
        """
        whole = grid is None
        p = (self.grid if whole else grid).unsqueeze(0)  # (1, P, 2)
        if shift is not None:
            p = p - shift.unsqueeze(1)
        if angle is not None:
            c, s = torch.cos(angle), torch.sin(angle)
            # Rows of R(angle): p @ R = R^T p, i.e. the grid rotated back.
            rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], 1)
            p = torch.matmul(p.expand(len(z), -1, -1), rot)
        h = self.dec_coord(p) + self.dec_z(z).unsqueeze(1)
        out = self.dec_body(h)
        if whole:
            return out.reshape(len(z), self.window, self.window, self.n_channels)
        return out

    # -- both ----------------------------------------------------------------
    def forward(self, x):
        """Reconstruction of ``x`` from its posterior means."""
        q = self.encode(x)
        return self.decode(q["z_mu"], q.get("angle"), q.get("shift"))

    def loss(self, x, noise_var=None):
        """Negative ELBO per patch, averaged over the batch.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, window, window, n_channels)
        noise_var : float or torch.Tensor, optional
            Noise variance of the data, broadcastable to ``x`` (per channel:
            shape ``(n_channels,)``); by default the network's own
            ``noise_variance``.
        """
        if noise_var is None:
            noise_var = self.noise_variance
        n = len(x)
        delta = None
        if self.rotation and self.equivariance > 0:
            # The same patches turned by a known angle, encoded in the same
            # pass: their angle must turn by as much (quarter turns are exact
            # by construction, so turns up to an eighth of a circle).
            delta = (torch.rand(n, device=x.device) - 0.5) * (math.pi / 2)
            x_in = torch.cat([x, rotate_patches(x, delta)])
        else:
            x_in = x
        q = self.encode(x_in)
        eq = 0.0
        if delta is not None:
            t = {key: value[n:] for key, value in q.items()}
            q = {key: value[:n] for key, value in q.items()}
            eq = (
                self.equivariance
                * x[0].numel()
                * (1.0 - torch.cos(t["angle"] - q["angle"] - delta))
            )
        z = reparameterize(q["z_mu"], q["z_logvar"])
        kl = gaussian_kl(q["z_mu"], q["z_logvar"])
        angle = shift = None
        if self.rotation:
            logvar = q["angle_logvar"]
            angle = reparameterize(q["angle"], logvar)
            kl = kl + 0.5 * (_ANGLE_LOGVAR_MAX - logvar).clamp(min=0)
        if self.translation and not self.warming_up:
            u = reparameterize(q["u_mu"], q["u_logvar"])
            shift = self.translation_prior * u
            kl = kl + gaussian_kl(q["u_mu"], q["u_logvar"])
        nll = gaussian_nll(self.decode(z, angle, shift), x, noise_var)
        return (nll + kl + eq).mean()
