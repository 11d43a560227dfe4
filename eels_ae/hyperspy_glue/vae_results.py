"""What ``s.vae()`` returns: latent maps, reconstruction, error map, figures."""

from __future__ import annotations

import numpy as np

from ..spectrum_image import as_spectrum_image

__all__ = ["VAEResult"]


class VAEResult:
    """Result of :func:`eels_ae.hyperspy_glue.vae` (``s.vae(...)``).

    Built by :meth:`from_signal`; the parts are HyperSpy signals whose map
    axes carry the navigation axes' calibration (offset, scale, units).

    Attributes
    ----------
    latent : hyperspy.signals.Signal2D
        Posterior means: a stack of ``latent_dim`` maps (navigation axis
        "Latent variable"). A line scan gives 1-pixel-high images.
    latent_std : hyperspy.signals.Signal2D
        Posterior standard deviations, same layout.
    reconstruction : same class as the input signal
        Each spectrum decoded from its latent means; same axes and
        metadata as the input, lazy if it is lazy.
    mse : hyperspy.signals.Signal2D
        Mean squared error between each spectrum and its reconstruction
        (over all energies, data units squared).
    model : eels_ae.VAE
        The fitted estimator: ``s2.vae(model=result.model)`` applies it to
        another acquisition without training.
    signal : hyperspy signal
        The input (not a copy; it is never modified).
    """

    def __init__(self, signal, model, latent, latent_std, reconstruction, mse, means):
        self.signal = signal
        self.model = model
        self.latent = latent
        self.latent_std = latent_std
        self.reconstruction = reconstruction
        self.mse = mse
        # Energy-averaged input and reconstruction: maps for the summary figure.
        self._means = means

    @classmethod
    def from_signal(cls, signal, model):
        """Encode and reconstruct every spectrum of ``signal`` with ``model``.

        A lazy signal is read block by block; its latent, error and mean
        maps (small) are computed, its reconstruction stays lazy.
        """
        si = as_spectrum_image(signal, "s.vae()")
        # Latents, error and mean maps in one pass over the data (a lazy
        # signal is read once); a lazy reconstruction stays lazy.
        summary = model.summarize(signal)
        z, z_sd, mse = summary["mean"], summary["sd"], summary["mse"]
        means = (summary["input_mean"], summary["reconstruction_mean"])
        rec = summary["reconstruction"]
        title = signal.metadata.General.title or "spectrum image"
        stack = "Latent variable"
        maps = [
            si.maps(np.asarray(m, dtype=np.float64), t)
            for m, t in zip(
                means,
                (f"{title}: mean over energy", "VAE reconstruction: mean over energy"),
                strict=True,
            )
        ]
        return cls(
            signal=signal,
            model=model,
            latent=si.maps(z.T, f"VAE latent means of {title}", stack_axis=stack),
            latent_std=si.maps(z_sd.T, f"VAE latent sds of {title}", stack_axis=stack),
            reconstruction=si.like_input(
                rec.astype(np.float32), title=f"{title} (VAE reconstruction)"
            ),
            mse=si.maps(np.asarray(mse, dtype=np.float64), "VAE reconstruction MSE"),
            means=maps,
        )

    def __repr__(self):
        k = self.latent.axes_manager.navigation_shape[0]
        return (
            f"<VAEResult: {k} latent(s) of "
            f"{self.signal.metadata.General.title or 'a signal'!r}>"
        )

    # -- helpers ---------------------------------------------------------------
    def _codes(self, which="latent"):
        """Latent means (or sds) as ``(n_pixels, latent_dim)``."""
        data = getattr(self, which).data
        return data.reshape(data.shape[0], -1).T

    def _energy(self):
        axis = self.signal.axes_manager.signal_axes[0]
        return axis.axis, f"{axis.name} ({axis.units})"

    # -- figures ---------------------------------------------------------------
    def plot_latent_distribution(self, c=None, **kwargs):
        """Latent means of every pixel with their Gaussian-KDE density.

        Parameters
        ----------
        c : array-like or hyperspy signal, optional
            A value per pixel to colour the points by (e.g. ``result.mse``
            or a thickness map).
        **kwargs
            Passed to :func:`eels_ae.plotting.plot_latent_density`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        from ..plotting import plot_latent_density

        z = self._codes()
        if c is not None:
            c = np.asarray(getattr(c, "data", c)).ravel()
        if z.shape[1] == 1:
            # One latent: its histogram is its distribution.
            fig, ax = plt.subplots(figsize=(4.5, 3.5))
            ax.hist(z[:, 0], bins=50)
            ax.set_xlabel("z1")
            ax.set_ylabel("pixels")
            ax.set_title("Latent distribution")
            return fig
        return plot_latent_density(z, c=c, **kwargs).figure

    def plot_reconstruction_summary(self, **kwargs):
        """Energy-averaged input, energy-averaged reconstruction and MSE map.

        Roccapriore et al. (2024), figure 2 (d-f). Drawn by
        :func:`hyperspy.api.plot.plot_images` (calibrated axes, colour bars);
        ``**kwargs`` go to it.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import hyperspy.api as hs
        import matplotlib.pyplot as plt

        if self.signal.axes_manager.navigation_dimension == 1:
            return self._plot_line_summary()
        kwargs.setdefault("per_row", 3)
        kwargs.setdefault("label", ["Data (mean over energy)", "VAE (mean)", "MSE"])
        if "fig" not in kwargs and "ax" not in kwargs:
            kwargs["fig"] = plt.figure(figsize=(11, 3.6))
        axes = hs.plot.plot_images([*self._means, self.mse], **kwargs)
        return np.ravel(axes)[0].figure

    def _plot_line_summary(self):
        """Line scan: profiles along the scan instead of 1-pixel-high images."""
        import matplotlib.pyplot as plt

        axis = self.signal.axes_manager.navigation_axes[0]
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
        a.plot(axis.axis, self._means[0].data.ravel(), color="0.5", label="data")
        a.plot(axis.axis, self._means[1].data.ravel(), color="C3", label="VAE")
        a.set_title("Mean over energy")
        a.legend(fontsize=8)
        b.plot(axis.axis, self.mse.data.ravel(), color="k")
        b.set_title("Reconstruction MSE")
        for ax in (a, b):
            ax.set_xlabel(f"{axis.name} ({axis.units})")
        fig.tight_layout()
        return fig

    def _pixel_index(self, pixel):
        """A navigation position for ``inav``: ints are indices, floats values."""
        nav_dim = self.signal.axes_manager.navigation_dimension
        pos = tuple(np.atleast_1d(pixel).tolist())
        if len(pos) != nav_dim:
            names = "(x, y)" if nav_dim == 2 else "x"
            raise ValueError(
                f"pixel {pixel!r} must give {nav_dim} coordinate(s) {names} for this "
                f"signal."
            )
        return pos

    def default_pixels(self):
        """Pixels of the lowest, median and highest reconstruction error."""
        err = self.mse.data.ravel()
        order = np.argsort(err, kind="stable")
        picks = [order[0], order[len(order) // 2], order[-1]]
        cols = self.mse.data.shape[-1]
        if self.signal.axes_manager.navigation_dimension == 1:
            return [(int(p),) for p in picks]
        return [(int(p % cols), int(p // cols)) for p in picks]

    def plot_pixels(self, pixels=None, per_row=3):
        """Spectra of chosen pixels against their reconstructions.

        Parameters
        ----------
        pixels : list of tuple, optional
            ``(x, y)`` positions (``(x,)`` or ``x`` on a line scan), as
            ``s.inav`` takes them: integers are pixel indices, floats are
            calibrated positions. Default: :meth:`default_pixels`.
        per_row : int, default 3

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        pixels = self.default_pixels() if pixels is None else list(pixels)
        if not pixels:
            raise ValueError("give at least one pixel, e.g. pixels=[(0, 0)].")
        positions = [self._pixel_index(p) for p in pixels]
        energy, label = self._energy()
        n = len(positions)
        cols = min(per_row, n)
        rows = -(-n // cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False
        )
        for ax, pos in zip(axes.ravel(), positions, strict=False):
            orig = np.asarray(self.signal.inav[pos].data)
            rec = np.asarray(self.reconstruction.inav[pos].data)
            ax.plot(energy, orig, color="0.6", lw=0.8, label="data")
            ax.plot(energy, rec, color="C3", lw=1.4, label="VAE")
            ax.set_title(f"pixel {pos}", fontsize=9)
            ax.set_xlabel(label)
        for ax in axes.ravel()[n:]:
            ax.set_visible(False)
        axes[0, 0].legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot_latent_grid(self, n=5, quantile=0.02):
        """Spectra decoded along a grid of latent values (the learnt manifold).

        With two or more latents, ``n`` x ``n`` small multiples over the range
        of z1 (left to right) and z2 (bottom to top), other latents at their
        median; the grey line in each panel is the mean decoded spectrum.
        With one latent, ``n`` spectra along z1 drawn in colour.

        Parameters
        ----------
        n : int, default 5
            Grid points per latent.
        quantile : float, default 0.02
            The grid spans the ``quantile`` to ``1 - quantile`` range of the
            latent means, so that a few outliers do not stretch it.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        from ..plotting import latent_grid

        if int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        n = int(n)
        z = self._codes()
        energy, label = self._energy()
        if z.shape[1] == 1:
            values = np.quantile(z[:, 0], np.linspace(quantile, 1 - quantile, n))
            spectra = self.model.inverse_transform(values[:, None])
            fig, ax = plt.subplots(figsize=(5, 3.5))
            colours = plt.cm.viridis(np.linspace(0, 1, n))
            for v, s, col in zip(values, spectra, colours, strict=True):
                ax.plot(energy, s, color=col, label=f"z1 = {v:.2g}")
            ax.set_xlabel(label)
            ax.legend(fontsize=7)
            ax.set_title("Spectra decoded along z1")
            return fig
        grid, _ = latent_grid(z, n=n, quantile=quantile)
        codes = np.repeat(np.median(z, axis=0)[None], len(grid), axis=0)
        codes[:, :2] = grid
        spectra = self.model.inverse_transform(codes)
        mean = spectra.mean(axis=0)
        fig, axes = plt.subplots(
            n, n, figsize=(1.8 * n, 1.4 * n), sharex=True, sharey=True, squeeze=False
        )
        # latent_grid orders rows from high z2 (top) to low, z1 fastest.
        for ax, (z1, z2), s in zip(axes.ravel(), grid, spectra, strict=True):
            ax.plot(energy, mean, color="0.75", lw=0.8)
            ax.plot(energy, s, color="C0", lw=1.0)
            ax.set_title(f"({z1:.2g}, {z2:.2g})", fontsize=7)
            ax.tick_params(labelsize=6)
        fig.supxlabel(f"{label}; z1 increases to the right")
        fig.supylabel("z2 increases upwards")
        fig.suptitle("Spectra decoded on a latent grid")
        fig.tight_layout()
        return fig
