"""Figures shared by the latent-variable methods (VAE, rVAE).

HyperSpy draws the signals themselves (maps, spectra); these are the few
figures it has no tool for: a latent distribution with its density, and the
grid of latent values a manifold is decoded on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["latent_grid", "plot_latent_density"]


def plot_latent_density(z, ax=None, labels=None, c=None, max_points=5000, seed=0):
    """Scatter of 2-D latent codes with Gaussian-KDE density contours.

    Parameters
    ----------
    z : array-like, shape (n, >= 2)
        Latent means; the first two columns are drawn.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure otherwise.
    labels : (str, str), optional
        Axis labels (default ``"z1"``, ``"z2"``).
    c : array-like, shape (n,), optional
        Values to colour the points by (e.g. a class or a position).
    max_points : int, default 5000
        At most this many points (drawn at random, seeded) are plotted and
        used for the density, which keeps large images fast.
    seed : int, default 0
        Seed of that subsample.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(
            f"plot_latent_density needs codes of shape (n, >= 2), got {z.shape}."
        )
    keep = np.all(np.isfinite(z[:, :2]), axis=1)
    idx = np.flatnonzero(keep)
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, False))
    pts = z[idx, :2]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    colours = None if c is None else np.asarray(c).ravel()[idx]
    sc = ax.scatter(pts[:, 0], pts[:, 1], s=4, c=colours, alpha=0.5, linewidths=0)
    if colours is not None:
        ax.figure.colorbar(sc, ax=ax)
    # A density needs spread in both directions; a collapsed latent has none.
    if len(pts) > 3 and np.all(pts.std(axis=0) > 0):
        kde = gaussian_kde(pts.T)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.1 * (hi - lo)
        gx, gy = np.meshgrid(
            np.linspace(lo[0] - pad[0], hi[0] + pad[0], 80),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], 80),
        )
        dens = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        ax.contour(gx, gy, dens, levels=6, colors="k", linewidths=0.8)
    xl, yl = labels or ("z1", "z2")
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_title("Latent distribution (KDE)")
    return ax


def latent_grid(z, n=8, quantile=0.02):
    """A regular ``n`` x ``n`` grid over the range of 2-D latent codes.

    Parameters
    ----------
    z : array-like, shape (m, >= 2)
        Latent means; the first two columns set the range.
    n : int, default 8
        Grid points per latent.
    quantile : float, default 0.02
        The grid spans the ``quantile`` to ``1 - quantile`` range of each
        latent, so a few outliers do not stretch it.

    Returns
    -------
    values : numpy.ndarray, shape (n * n, 2)
        Grid points, z1 varying fastest (row-major image order: row = z2
        from high to low, column = z1 from low to high, as in an image with
        z2 up).
    extent : (float, float, float, float)
        ``(z1_min, z1_max, z2_min, z2_max)`` for ``imshow(extent=...)``.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"latent_grid needs codes of shape (m, >= 2), got {z.shape}.")
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    z = z[np.all(np.isfinite(z[:, :2]), axis=1), :2]
    lo = np.quantile(z, quantile, axis=0)
    hi = np.quantile(z, 1 - quantile, axis=0)
    g1 = np.linspace(lo[0], hi[0], n)
    g2 = np.linspace(hi[1], lo[1], n)  # top row = largest z2
    v1, v2 = np.meshgrid(g1, g2)
    values = np.column_stack([v1.ravel(), v2.ravel()])
    return values, (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
