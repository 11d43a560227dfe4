"""What ``s.rvae()`` returns: angle, latent and reconstruction maps, figures."""

from __future__ import annotations

import numpy as np

from ..spectrum_image import as_spectrum_image

__all__ = ["RVAEResult"]


class RVAEResult:
    """Result of :func:`eels_ae.hyperspy_glue.rvae` (``s.rvae(...)``).

    The maps are :class:`hyperspy.signals.Signal2D` on the *interior* grid
    (pixels with a whole window), with the navigation axes' scale and units
    and an offset of ``window // 2`` pixels.

    Attributes
    ----------
    angle : hyperspy.signals.Signal2D or None
        Encoded angle of every window (radians, ``(-pi, pi]``, from ``+x``
        towards ``+y``); ``None`` without rotation.
    latent, latent_std : hyperspy.signals.Signal2D
        Content latents (posterior means, sds): a stack of ``latent_dim``
        maps (navigation axis "Latent variable").
    shift : hyperspy.signals.Signal2D or None
        Encoded shift ``(dx, dy)`` in pixels (stack of 2); ``None`` without
        translation.
    input, reconstruction : hyperspy.signals.Signal2D
        The input channels, normalised as the model sees them, and each
        pixel decoded from its codes: stacks with one map per channel
        (navigation axis "Channel").
    model : eels_ae.RVAE
        The fitted estimator (``s2.rvae(model=result.model)`` applies it to
        another acquisition).
    channels : list of int
        The components used, in order.
    source : str
        Where the maps came from (the decomposition, or the NMF run).
    signal : hyperspy signal
        The input (never modified).
    """

    def __init__(self, signal, model, channels, source, codes, maps):
        self.signal = signal
        self.model = model
        self.channels = list(channels)
        self.source = source
        self.codes = codes
        for name, value in maps.items():
            setattr(self, name, value)

    @classmethod
    def from_maps(cls, signal, model, maps, channels, source):
        """Encode every window of ``maps`` and build the calibrated results."""
        codes = model.encode(maps, reconstruct=True)
        w = int(model.window)
        h = w // 2
        rows, cols = codes.z.shape[:2]
        # HyperSpy's own slicing carries the calibration onto the interior grid.
        si = as_spectrum_image(signal.inav[h : h + cols, h : h + rows], "s.rvae()")
        title = signal.metadata.General.title or "spectrum image"

        def stack(a, what, axis):
            return si.maps(np.moveaxis(a, -1, 0), f"rVAE {what} of {title}", axis)

        lo, hi = model.input_range_[:, 0], model.input_range_[:, 1]
        a, b = model.output_range_[:, 0], model.output_range_[:, 1]
        inner = np.asarray(maps[h : h + rows, h : h + cols], dtype=float)
        out = {
            "angle": None,
            "shift": None,
            "latent": stack(codes.z, "latent means", "Latent variable"),
            "latent_std": stack(codes.z_sd, "latent sds", "Latent variable"),
            "input": stack((inner - lo) / (hi - lo) * (b - a) + a, "input", "Channel"),
            "reconstruction": stack(codes.reconstruction, "reconstruction", "Channel"),
        }
        if codes.angle is not None:
            out["angle"] = si.maps(codes.angle, f"rVAE angle of {title}")
            out["angle"].metadata.set_item("Signal.quantity", "Angle (rad)")
        if codes.shift is not None:
            out["shift"] = stack(codes.shift, "shift (px)", "Shift (dx, dy)")
        return cls(signal, model, channels, source, codes, out)

    def __repr__(self):
        k = self.latent.axes_manager.navigation_shape[0]
        return (
            f"<RVAEResult: {len(self.channels)} channel(s) {self.channels}, window "
            f"{self.model.window}, {k} latent(s), from {self.source}>"
        )

    # -- values ----------------------------------------------------------------
    def _z(self):
        """Latent means as ``(n_pixels, latent_dim)``."""
        return self.codes.z.reshape(-1, self.codes.z.shape[-1])

    def _maps(self):
        """``(name, Signal2D)`` of the angle and of each latent map."""
        out = [("angle", self.angle)] if self.angle is not None else []
        for i in range(self.codes.z.shape[-1]):
            out.append((f"z{i + 1}", self.latent.inav[i]))
        return out

    def decode(self, z, angle=0.0, shift=(0.0, 0.0)):
        """Patches decoded from any latent vector(s): see :meth:`eels_ae.RVAE.decode`.

        Returns
        -------
        ndarray, shape (n, window, window, channels)
        """
        return self.model.decode(z, angle=angle, shift=shift)

    def histograms(self, bins="fd"):
        """Histograms of the angle and of each latent (HyperSpy ``get_histogram``).

        Returns
        -------
        dict of str to hyperspy.signals.Signal1D
        """
        return {name: sig.get_histogram(bins=bins) for name, sig in self._maps()}

    # -- figures ---------------------------------------------------------------
    def plot_angle(self, **kwargs):
        """Map of the encoded angle, in a cyclic colour map.

        ``**kwargs`` go to :func:`hyperspy.api.plot.plot_images`.
        """
        import hyperspy.api as hs

        if self.angle is None:
            raise ValueError("this model has no angle (rotation=False).")
        kwargs.setdefault("cmap", "twilight")
        kwargs.setdefault("vmin", -np.pi)
        kwargs.setdefault("vmax", np.pi)
        kwargs.setdefault("label", "angle (rad)")
        return hs.plot.plot_images(self.angle, **kwargs)

    def plot_latent(self, **kwargs):
        """Maps of the angle and the content latents side by side.

        ``**kwargs`` go to :func:`hyperspy.api.plot.plot_images`.
        """
        import hyperspy.api as hs

        names, sigs = zip(*self._maps(), strict=True)
        kwargs.setdefault("label", list(names))
        kwargs.setdefault("per_row", len(sigs))
        return hs.plot.plot_images(list(sigs), **kwargs)

    def plot_histograms(self, bins="fd"):
        """Histograms of the angle and of each latent (Roccapriore et al. 2024, fig. 4
        g-i).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        hists = self.histograms(bins)
        fig, axes = plt.subplots(1, len(hists), figsize=(3.2 * len(hists), 2.8))
        for ax, (name, h) in zip(np.atleast_1d(axes), hists.items(), strict=True):
            axis = h.axes_manager.signal_axes[0]
            ax.stairs(h.data, np.append(axis.axis, axis.axis[-1] + axis.scale))
            ax.set_xlabel(name + (" (rad)" if name == "angle" else ""))
        np.atleast_1d(axes)[0].set_ylabel("pixels")
        fig.tight_layout()
        return fig

    def plot_latent_distribution(self, c=None, **kwargs):
        """Latent means (z1, z2) of every window with their Gaussian-KDE density.

        Parameters
        ----------
        c : array-like or signal on the interior grid, optional
            Values to colour the points by (``result.angle``, say).
        **kwargs
            Passed to :func:`eels_ae.plotting.plot_latent_density`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plotting import plot_latent_density

        z = self._z()
        if z.shape[1] == 1:
            z = np.column_stack([z, np.zeros(len(z))])
        if c is not None:
            c = np.asarray(getattr(c, "data", c)).ravel()
        return plot_latent_density(z, c=c, **kwargs)

    def manifold(self, n=8, angle=0.0):
        """Patches decoded over an ``n x n`` grid spanning the latent means.

        Returns
        -------
        patches : ndarray (n, n, window, window, channels)
        extent : (z1_min, z1_max, z2_min, z2_max)
        """
        return self.model.manifold(self._z(), n=n, angle=angle)

    def plot_manifold(self, n=8, angle=0.0, channels=None, ax=None):
        """The manifold: patches decoded over a grid of the latent space.

        With 3 channels (or ``channels`` naming 3 of them) the patches are
        shown as RGB (first channel red, as in Roccapriore et al. 2024, fig. 4 a-b),
        each channel scaled to [0, 1] over the manifold; otherwise one channel in
        grey levels.

        Parameters
        ----------
        n : int, default 8
            Grid points per latent.
        angle : float, default 0
            Angle at which to decode the patches.
        channels : int or sequence of 3 int, optional
            Which channel(s) to show (indices into ``self.channels``' order).
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        patches, extent = self.manifold(n=n, angle=angle)
        C = patches.shape[-1]
        if channels is None:
            channels = list(range(3)) if C == 3 else 0
        show = patches[..., channels]
        lo = show.min(axis=(0, 1, 2, 3), keepdims=True)
        hi = show.max(axis=(0, 1, 2, 3), keepdims=True)
        show = np.clip((show - lo) / np.where(hi > lo, hi - lo, 1), 0, 1)
        w = patches.shape[2]
        # (n, n, w, w, ...) -> one image of n x n tiles.
        mosaic = show.swapaxes(1, 2).reshape((n * w, n * w) + show.shape[4:])
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        ax.imshow(mosaic, extent=extent, aspect="auto", cmap="gray")
        ax.set_xlabel("latent z1 (prior units)")
        ax.set_ylabel("latent z2 (prior units)")
        ax.set_title(f"rVAE manifold (angle {angle:g} rad)")
        names = [f"component {self.channels[c]}" for c in np.atleast_1d(channels)]
        if len(names) == 3:
            from matplotlib.patches import Patch

            handles = [
                Patch(color=colour, label=name)
                for colour, name in zip(("red", "green", "blue"), names, strict=True)
            ]
            ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.7)
        else:
            ax.set_title(ax.get_title() + f"\n{names[0]} (grey levels)")
        return ax

    def plot_reconstruction(self, **kwargs):
        """Each input channel above its reconstruction (Roccapriore et al. 2024, fig. 4
        j).

        ``**kwargs`` go to :func:`hyperspy.api.plot.plot_images`.
        """
        import hyperspy.api as hs

        C = len(self.channels)
        images = [self.input.inav[k] for k in range(C)]
        images += [self.reconstruction.inav[k] for k in range(C)]
        kwargs.setdefault(
            "label",
            [f"component {c}" for c in self.channels]
            + [f"rVAE {c}" for c in self.channels],
        )
        kwargs.setdefault("per_row", C)
        return hs.plot.plot_images(images, **kwargs)
