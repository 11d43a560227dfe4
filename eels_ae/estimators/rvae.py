"""Multichannel rotationally invariant VAE on windows of maps (Roccapriore et al.
2024)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..models.rvae import RotationalVAE, patch_grid
from ..models.variational import estimate_noise_variance
from ..patches import interior_shape, patch_stream
from ..streaming import is_dask_array
from ..training import predict_in_batches, progress_bar
from ..validation import (
    Either,
    Interval,
    Options,
    check_finite,
    check_n_features,
    check_not_empty,
    check_numeric,
    pixel_namer,
)
from .neural import TRAINING_PARAMS_DOC, NeuralEstimator, TrainingData

__all__ = ["RVAE", "RVAECodes"]

_NORMALIZE = ("channel", "joint")
#: Windows encoded at once (each is encoded in its four quarter turns).
_ENCODE_BATCH = 1024
#: Rows of the maps used to estimate the noise level (evenly spaced).
_NOISE_ROWS = 256


@dataclass
class RVAECodes:
    """Encodings of every interior pixel, as maps on the interior grid.

    Attributes
    ----------
    angle, angle_sd : ndarray (rows, columns) or None
        Encoded angle (radians, in ``(-pi, pi]``, from ``+x`` towards ``+y``)
        and its posterior standard deviation; ``None`` without rotation.
    shift, shift_sd : ndarray (rows, columns, 2) or None
        Encoded shift ``(dx, dy)`` in pixels and its posterior sd; ``None``
        without translation.
    z, z_sd : ndarray (rows, columns, latent_dim)
        Content latents (posterior means) and their posterior sd.
    reconstruction : ndarray (rows, columns, channels) or None
        The decoded value of each pixel (the pixel of its own patch), in the
        normalised units of the model.
    offset : (int, int)
        Row and column of the maps where the interior grid starts
        (``window // 2``).
    """

    angle: np.ndarray | None
    angle_sd: np.ndarray | None
    shift: np.ndarray | None
    shift_sd: np.ndarray | None
    z: np.ndarray
    z_sd: np.ndarray
    reconstruction: np.ndarray | None
    offset: tuple


class RVAE(NeuralEstimator):
    __doc__ = """Multichannel rotationally invariant VAE on windows of maps.

    The multichannel rVAE of Roccapriore et al., "Discovering invariant
    spatial features in electron energy loss spectroscopy images on the
    mesoscopic and atomic levels" (2024) [Roccapriore2024]_: a ``window x window``
    patch around every pixel of a stack of maps (NMF abundance maps, say) is encoded
    into an angle, a shift and ``latent_dim`` content latents; a coordinate decoder
    rebuilds the patch on a grid rotated by the angle and shifted by the
    shift (:class:`eels_ae.models.RotationalVAE`). The content latents then
    describe *what* is in a window, not how it is turned or where it sits.

    Parameters
    ----------
    window : int, default 10
        Patch width in pixels (Roccapriore et al. 2024 studied 6, 10, 16 and 30: match
        it to the size of the features). Even windows are allowed: the patch of
        a pixel then has it as the lower-right pixel of its central 2 x 2.
        Pixels closer than half a window to the border have no patch and no
        code.
    latent_dim : int, default 2
        Content latents.
    rotation : bool, default True
        Encode and undo rotations. ``rotation=False, translation=False`` is a
        plain VAE on the same patches.
    translation : bool, default True
        Encode and undo shifts (two latents).
    normalize : "channel", "joint" or sequence, default "channel"
        How the maps are scaled before the patches are cut. ``"channel"``:
        each channel to [0, 1] (Roccapriore et al.'s (2024) default); ``"joint"``: all
        channels by one minimum and maximum (keeps their relative weights);
        a sequence with one ``(low, high)`` pair (or one ``high``, meaning
        ``(0, high)``) per channel: each channel to its own range, e.g.
        ``[1, 2, 1]`` doubles the weight of the second channel (Roccapriore et al.'s
        (2024) [0, 2] experiment). The ranges are those of the training maps; later
        maps are scaled the same way.
    noise_variance : "auto", float or sequence, default "auto"
        Noise variance of the normalised maps in the Gaussian likelihood,
        one value or one per channel. ``"auto"`` estimates it per channel
        from the second differences of the maps along their rows
        (:func:`eels_ae.models.variational.estimate_noise_variance`). A
        likelihood with the wrong noise level makes the latents collapse
        (see Notes).
    translation_prior : float, default 0.5
        Prior sd of the shift, in half windows.
    equivariance : float, default 1.0
        Weight of the term that asks the encoded angle to turn with the
        window for turns of up to 45 degrees (quarter turns are exact by
        construction; :class:`eels_ae.models.RotationalVAE`); 0 turns it off.
    translation_warmup : float, default 0.35
        Fraction of ``max_epochs`` trained with the shift held at zero, before
        the shift is encoded and used (with translation): the decoder first
        learns templates centred on the window, so that the angle turns
        about the content's own centre and is not traded against a large
        shift that turns with it (a failure seen on the test motifs: the
        angle of a motif jumped by about half a turn over a range of
        orientations). Those epochs are not kept as the best ones.
    hidden_width : int, default 64
        Units of the hidden layers (2 in the encoder, 2 in the decoder). atomai
        uses 128; on windows of up to ~16 pixels 64 reconstruct as well and
        train about 3 times faster.
    patches_per_epoch : int or None, default 3000
        Train each epoch on a fresh random subsample of about this many
        patches (neighbouring patches overlap almost entirely, so a large
        image needs far fewer per epoch than it has pixels); all of them if
        the maps have fewer. ``None``: always all. With the default
        ``max_epochs`` the training sees ~270,000 patches whatever the size
        of the maps (about a minute on 2 CPU cores for 13 x 13 x 3 patches).
{TRAINING_PARAMS_DOC}
    Attributes
    ----------
    model_ : eels_ae.models.RotationalVAE
    device_ : torch.device
    loss_curve_ : list of float
        Negative ELBO per patch, per epoch.
    n_epochs_, best_loss_ : int, float
    n_features_in_ : int
        Channels of the maps.
    input_range_ : ndarray (channels, 2)
        Minimum and maximum of each channel of the training maps (the same
        pair for all with ``normalize="joint"``).
    output_range_ : ndarray (channels, 2)
        What those are mapped to (``(0, 1)`` unless given).
    noise_variance_ : ndarray (channels,)
        Noise variance used in the likelihood (normalised units).
    code_names_ : list of str
        Columns of :meth:`transform`: ``"angle"`` (with rotation),
        ``"shift_x"``, ``"shift_y"`` (with translation), ``"z1"``, ...
    interior_shape_ : (int, int)
        Rows and columns of the interior grid of the training maps.

    Notes
    -----
    The likelihood is Gaussian with the data's own noise variance. The public
    code of Roccapriore et al. (atomai) uses a mean-squared error, i.e. unit noise on
    data scaled to [0, 1]: the reconstruction term is then hundreds of times
    too weak against the KL term, and every content latent collapses onto
    the prior. The angle has a uniform prior over the full circle (no
    preferred orientation) and is encoded as a direction, so that it covers
    the whole circle without a jump; atomai's Gaussian angle only resolves
    it modulo pi.

    Examples
    --------
    >>> from eels_ae import RVAE
    >>> from eels_ae.data import motif_maps
    >>> m = motif_maps((64, 64), random_state=0)
    >>> model = RVAE(window=12, max_epochs=5, random_state=0).fit(m.maps)
    >>> codes = model.encode(m.maps)
    >>> codes.angle.shape
    (53, 53)
    """.replace("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC)

    _model_params = {
        "window": 10,
        "latent_dim": 2,
        "rotation": True,
        "translation": True,
        "normalize": "channel",
        "noise_variance": "auto",
        "translation_prior": 0.5,
        "equivariance": 1.0,
        "translation_warmup": 0.35,
        "hidden_width": 64,
        "patches_per_epoch": 3000,
    }
    _training_defaults = {
        "max_epochs": 90,
        "batch_size": 128,
        "learning_rate": 4e-3,
        "tol": None,
    }
    _renamed = {"hidden": "hidden_width"}
    _constraints = {
        "window": Interval("int", 2),
        "latent_dim": Interval("int", 1),
        "rotation": Options((True, False)),
        "translation": Options((True, False)),
        "hidden_width": Interval("int", 1),
        "translation_prior": Interval("real", 0, closed="neither"),
        "equivariance": Interval("real", 0),
        "translation_warmup": Interval("real", 0, 1, closed="left"),
        "patches_per_epoch": Either((Options((None,)), Interval("int", 2))),
    }
    _progress_label = "rVAE"
    _fit_input_doc = """\
X : array (rows, columns, channels) or (rows, columns), numpy or dask
    The maps (e.g. abundance maps). A dask array is read band by band and
    its patches are built band by band: they are never all in memory.
"""
    _sample_unit = "windows"

    # -- fitting -------------------------------------------------------------
    def _prepare(self, X):
        """``X``: maps (rows, columns, channels) or (rows, columns), numpy or
        dask. A dask array is read band by band and its patches are built
        band by band: they are never all in memory."""
        maps = self._check_maps(X, "fit")
        self._check_params(maps)
        w = int(self.window)
        self.n_features_in_ = int(maps.shape[-1])
        self.input_range_, self.output_range_ = self._ranges(maps)
        self.interior_shape_ = interior_shape(maps.shape, w)
        n_patches = self.interior_shape_[0] * self.interior_shape_[1]
        fraction = 1.0
        if self.patches_per_epoch is not None:
            fraction = min(1.0, int(self.patches_per_epoch) / n_patches)
        self.noise_variance_ = self._noise_variance(maps)
        self.code_names_ = (
            (["angle"] if self.rotation else [])
            + (["shift_x", "shift_y"] if self.translation else [])
            + [f"z{i + 1}" for i in range(int(self.latent_dim))]
        )
        stream = patch_stream(maps, w, self._normalize_maps, fraction)
        return TrainingData(stream, max(1, round(n_patches * fraction)))

    def _build(self, data, rng):
        return RotationalVAE(
            int(self.window),
            self.n_features_in_,
            int(self.latent_dim),
            rotation=bool(self.rotation),
            translation=bool(self.translation),
            hidden=int(self.hidden_width),
            translation_prior=float(self.translation_prior),
            equivariance=float(self.equivariance),
            translation_warmup=round(
                float(self.translation_warmup) * int(self.max_epochs)
            ),
            noise_variance=self.noise_variance_,
        )

    # -- checks --------------------------------------------------------------
    def _check_maps(self, X, name):
        X = check_numeric(X, f"RVAE.{name}")
        if X.ndim == 2:
            X = X[..., None]
        if X.ndim != 3:
            raise ValueError(
                f"{name} expects maps of shape (rows, columns, channels) or (rows, "
                f"columns), got shape {X.shape}. For a HyperSpy signal use "
                "s.rvae(), which builds the maps from a decomposition."
            )
        check_not_empty((X.shape[0] * X.shape[1], X.shape[2]), f"RVAE.{name}")
        rows, cols, channels = X.shape
        w = self.window
        if isinstance(w, numbers.Integral) and w > min(rows, cols):
            raise ValueError(
                f"window={w} is larger than the maps ({cols} x {rows} pixels, x by "
                f"y): use window <= {min(rows, cols)}."
            )
        check_finite(X.reshape(-1, channels), pixel_namer((rows, cols)), "pixels")
        return X

    def _check_params(self, maps):
        """Checks that depend on the maps."""
        w = self.window
        rows, cols = maps.shape[:2]
        if w == rows and w == cols:
            raise ValueError(
                f"window={w} leaves a single patch in {cols} x {rows} maps: use a "
                "smaller window."
            )

    def _ranges(self, maps):
        """Input (min, max) and output (low, high) of every channel."""
        C = maps.shape[-1]
        if is_dask_array(maps):
            import dask.array as da

            lo, hi = da.compute(maps.min(axis=(0, 1)), maps.max(axis=(0, 1)))
        else:
            lo, hi = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        norm = self.normalize
        out = np.tile([0.0, 1.0], (C, 1))
        if isinstance(norm, str):
            if norm not in _NORMALIZE:
                raise ValueError(
                    f"normalize={norm!r} is not known: use 'channel', 'joint' or "
                    "one (low, high) range per channel."
                )
            if norm == "joint":
                lo, hi = np.full(C, lo.min()), np.full(C, hi.max())
        else:
            out = self._output_ranges(norm, C)
        flat = np.flatnonzero(hi <= lo)
        if flat.size:
            which = ", ".join(f"{k} (every value {lo[k]:g})" for k in flat)
            raise ValueError(
                f"channel(s) {which} of the maps are constant: a zero range cannot "
                "be normalised and holds no structure. Leave them out (channels=...)."
            )
        return np.stack([lo, hi], axis=1), out

    @staticmethod
    def _output_ranges(norm, C):
        try:
            parts = [
                (0.0, float(p)) if np.ndim(p) == 0 else tuple(float(v) for v in p)
                for p in norm
            ]
        except (TypeError, ValueError):
            parts = None
        if (
            parts is None
            or len(parts) != C
            or any(len(p) != 2 or not p[1] > p[0] for p in parts)
        ):
            raise ValueError(
                f"normalize={norm!r}: give one range per channel ({C} here), each "
                "(low, high) with high > low or a single high (meaning (0, high)), "
                "e.g. [1, 2, 1] to double the weight of the second channel."
            )
        return np.asarray(parts, dtype=float)

    def _normalize_maps(self, band):
        """Maps -> model units (a new float32 array)."""
        lo, hi = self.input_range_[:, 0], self.input_range_[:, 1]
        a, b = self.output_range_[:, 0], self.output_range_[:, 1]
        scale = ((b - a) / (hi - lo)).astype(np.float32)
        return (np.asarray(band, dtype=np.float32) - lo.astype(np.float32)) * scale + a

    def _noise_variance(self, maps):
        C = maps.shape[-1]
        nv = self.noise_variance
        if isinstance(nv, str):
            if nv != "auto":
                raise ValueError(
                    f"noise_variance={nv!r} is not known: use 'auto', a float or "
                    "one float per channel."
                )
            rows = np.unique(np.linspace(0, maps.shape[0] - 1, _NOISE_ROWS).astype(int))
            sample = maps[rows]
            if is_dask_array(sample):
                sample = sample.compute()
            sample = self._normalize_maps(sample)
            if sample.shape[1] < 3:
                return np.full(C, 1e-2)
            return np.array(
                [estimate_noise_variance(sample[..., k], axis=1) for k in range(C)]
            )
        given = np.asarray(nv, dtype=float)
        if given.ndim > 1 or given.size not in (1, C):
            raise ValueError(
                f"noise_variance has {given.size} values but the maps have {C} "
                "channels: give one float, or one per channel."
            )
        values = np.broadcast_to(given, (C,)).copy()
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(
                f"noise_variance must be 'auto' or positive numbers, got {nv!r}."
            )
        return values

    # -- encoding ------------------------------------------------------------
    def _check_fitted_maps(self, X, name):
        check_is_fitted(self, "model_")
        maps = self._check_maps(X, name)
        check_n_features(self, maps.shape[-1], unit="map channels")
        return maps

    def encode(self, X, reconstruct=False):
        """Encode the patch of every interior pixel of ``X``.

        Parameters
        ----------
        X : array (rows, columns, channels), numpy or dask
            Maps with the training channels; scaled as the training maps.
        reconstruct : bool, default False
            Also decode each pixel (its value in its own decoded patch).

        Returns
        -------
        RVAECodes
            Maps on the interior grid ``(rows - window + 1, columns - window +
            1)``.
        """
        maps = self._check_fitted_maps(X, "encode")
        w = int(self.window)
        shape = interior_shape(maps.shape, w)
        stream = patch_stream(maps, w, self._normalize_maps)
        model = self.model_.eval()
        centre = patch_grid(w)[(w // 2) * w + w // 2][None].to(self.device_)

        def fn(x):
            q = model.encode(x)
            if reconstruct:
                rec = model.decode(q["z_mu"], q.get("angle"), q.get("shift"), centre)
                q["reconstruction"] = rec[:, 0]
            return q

        parts = []
        bar = progress_bar(stream.n_bands, "Encoding", self.show_progressbar)
        with bar:
            for _, patches in stream.bands():
                parts.append(
                    predict_in_batches(fn, patches, self.device_, _ENCODE_BATCH)
                )
                bar.update(1)
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

        def grid(a):
            return a.reshape(shape + a.shape[1:]).astype(np.float64)

        def sd(logvar):
            return grid(np.exp(0.5 * logvar))

        half = max((w - 1) / 2, 0.5)  # grid units -> pixels
        tp = float(self.translation_prior)
        return RVAECodes(
            angle=grid(cat["angle"]) if self.rotation else None,
            angle_sd=sd(cat["angle_logvar"]) if self.rotation else None,
            shift=grid(cat["shift"]) * half if self.translation else None,
            shift_sd=sd(cat["u_logvar"]) * tp * half if self.translation else None,
            z=grid(cat["z_mu"]),
            z_sd=sd(cat["z_logvar"]),
            reconstruction=grid(cat["reconstruction"]) if reconstruct else None,
            offset=(w // 2, w // 2),
        )

    def transform(self, X):
        """Codes of every interior pixel, ``(n_pixels, n_codes)``.

        Columns as in ``code_names_``: ``angle`` (radians, with rotation),
        ``shift_x``, ``shift_y`` (pixels, with translation), then the content
        latents ``z1``, ``z2``, ...; rows in C order over the interior grid
        (:meth:`encode` gives them as maps).
        """
        codes = self.encode(X)
        cols = []
        if codes.angle is not None:
            cols.append(codes.angle[..., None])
        if codes.shift is not None:
            cols.append(codes.shift)
        cols.append(codes.z)
        out = np.concatenate(cols, axis=-1)
        return out.reshape(-1, out.shape[-1])

    # -- decoding ------------------------------------------------------------
    def decode(self, z, angle=0.0, shift=(0.0, 0.0)):
        """Patches decoded from content latents, at a given angle and shift.

        Parameters
        ----------
        z : array-like, shape (n, latent_dim) or (latent_dim,)
        angle : float or array (n,), default 0
            Rotation in radians (ignored without rotation).
        shift : (float, float) or array (n, 2), default (0, 0)
            ``(dx, dy)`` in pixels (ignored without translation).

        Returns
        -------
        ndarray, shape (n, window, window, channels)
            In the normalised units of the model.
        """
        check_is_fitted(self, "model_")
        k = int(self.latent_dim)
        z = np.asarray(z, dtype=np.float32)
        if z.shape[-1] != k or z.ndim > 2:
            raise ValueError(
                f"z must have shape (n, {k}) or ({k},): the model has {k} content "
                f"latents; got shape {z.shape}."
            )
        z = z.reshape(-1, k)
        n = len(z)
        half = max((int(self.window) - 1) / 2, 0.5)
        angle = np.broadcast_to(np.asarray(angle, np.float32), (n,))
        shift = np.broadcast_to(np.asarray(shift, np.float32) / half, (n, 2))
        model = self.model_.eval()

        def fn(z, angle, shift):
            return model.decode(
                z, angle if self.rotation else None, shift if self.translation else None
            )

        arrays = (z, np.ascontiguousarray(angle), np.ascontiguousarray(shift))
        return predict_in_batches(fn, arrays, self.device_, 1024).astype(np.float64)

    def inverse_transform(self, codes):
        """Patches ``(n, window, window, channels)`` from codes in the layout of
        :meth:`transform` (normalised units)."""
        check_is_fitted(self, "model_")
        codes = np.asarray(codes, dtype=float)
        n_codes = len(self.code_names_)
        if codes.ndim != 2 or codes.shape[1] != n_codes:
            raise ValueError(
                f"codes must have shape (n, {n_codes}) (columns "
                f"{', '.join(self.code_names_)}), got {codes.shape}."
            )
        i = 0
        angle, shift = 0.0, (0.0, 0.0)
        if self.rotation:
            angle, i = codes[:, 0], 1
        if self.translation:
            shift, i = codes[:, i : i + 2], i + 2
        return self.decode(codes[:, i:], angle=angle, shift=shift)

    def manifold(self, z=None, n=8, angle=0.0, quantile=0.02):
        """Patches decoded over an ``n x n`` grid of the first two latents.

        Parameters
        ----------
        z : array (m, latent_dim), optional
            Codes whose range the grid spans (between the ``quantile`` and
            ``1 - quantile`` quantiles); by default -2 to 2 (the prior).
        n : int, default 8
        angle : float, default 0
        quantile : float, default 0.02

        Returns
        -------
        patches : ndarray, shape (n, n, window, window, channels)
            Row ``i`` of the grid has the ``i``-th value of ``z2`` (from the
            top: largest first), column ``j`` the ``j``-th of ``z1``.
        extent : (float, float, float, float)
            ``(z1_min, z1_max, z2_min, z2_max)`` of the grid.
        """
        from ..plotting import latent_grid

        check_is_fitted(self, "model_")
        k = int(self.latent_dim)
        if z is None:
            z = np.array([[-2.0, -2.0], [2.0, 2.0]])
            quantile = 0.0
        z = np.asarray(z, dtype=float).reshape(-1, k)
        if k == 1:
            z = np.concatenate([z, np.zeros_like(z)], axis=1)
        values, extent = latent_grid(z[:, :2], n=n, quantile=quantile)
        full = np.zeros((len(values), k))
        full[:, : min(k, 2)] = values[:, : min(k, 2)]
        if k > 2:
            full[:, 2:] = np.median(z[:, 2:], axis=0)
        patches = self.decode(full, angle=angle)
        w, C = int(self.window), self.n_features_in_
        return patches.reshape(n, n, w, w, C), extent
