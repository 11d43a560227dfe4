"""The figure of a trained model's result, for the command line's PNGs and
the training panel (one drawing for both; a ``matplotlib.figure.Figure``,
no pyplot state, so it can be drawn from the panel's training thread)."""

from __future__ import annotations

import io

import numpy as np

__all__ = ["plot_uncertainty", "result_figure_png"]


def _label(axis):
    name = axis.name if isinstance(axis.name, str) else ""
    units = axis.units if isinstance(axis.units, str) else ""
    return f"{name} ({units})" if units else name


def _image_grid(fig, stack, title, axes=(), first_row=0, limits=(None, None)):
    """One panel per image of a (n, rows, columns) stack, with colour bars,
    below ``first_row`` rows of other panels, on the calibrated ``axes``
    (x, y: HyperSpy axes of the map's columns and rows); a line scan (one
    row or one column) is drawn as profiles in one panel."""
    n = stack.shape[0]
    if 1 in stack.shape[1:]:
        ax = fig.add_subplot(first_row + 1, 1, first_row + 1)
        long_axes = [a for a in axes if a.size > 1] or list(axes)
        x = long_axes[0].axis if long_axes else np.arange(stack[0].size)
        for i in range(n):
            ax.plot(x, stack[i].ravel(), "o-", ms=3, label=f"{title} {i}")
        ax.set_xlabel(_label(long_axes[0]) if long_axes else "pixel")
        ax.set_ylabel(title)
        if limits != (None, None):
            ax.set_ylim(limits[0] - 0.05, limits[1] + 0.05)
        ax.legend(fontsize=8)
        return
    cols = min(n, 4)
    rows = int(np.ceil(n / cols)) + first_row
    extent = None
    if len(axes) == 2:
        xa, ya = axes
        extent = (
            xa.axis[0] - xa.scale / 2,
            xa.axis[-1] + xa.scale / 2,
            ya.axis[-1] + ya.scale / 2,
            ya.axis[0] - ya.scale / 2,
        )
    for i in range(n):
        ax = fig.add_subplot(rows, cols, first_row * cols + i + 1)
        image = ax.imshow(
            stack[i],
            aspect="equal" if extent is not None else "auto",
            interpolation="nearest",
            vmin=limits[0],
            vmax=limits[1],
            extent=extent,
        )
        ax.set_title(f"{title} {i}")
        if extent is None:
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.set_xlabel(_label(axes[0]), fontsize=8)
            ax.set_ylabel(_label(axes[1]), fontsize=8)
            ax.tick_params(labelsize=7)
        fig.colorbar(image, ax=ax, fraction=0.046)


def draw_uncertainty(fig, signal):
    """Endmembers with bands of +-2 spreads, the abundance maps and, below
    them, the maps of their spreads (``ensemble=N`` results)."""
    results = signal.learning_results
    factors = np.asarray(results.factors).T
    spread = np.asarray(results.endmember_std.data)
    maps = np.asarray(signal.get_decomposition_loadings().data)
    maps = maps.reshape(maps.shape[0], -1, maps.shape[-1])
    stds = np.asarray(results.abundance_std.data).reshape(maps.shape)
    axis = signal.axes_manager.signal_axes[0]
    angles = getattr(results.decomposition_algorithm, "endmember_angle_", None)
    n = len(factors)
    ax = fig.add_subplot(3, 1, 1)
    for i, (f, sd) in enumerate(zip(factors, spread, strict=True)):
        label = f"endmember {i}"
        if angles is not None:
            label += f" (members within {angles[i]:.1f} deg)"
        (line,) = ax.plot(axis.axis, f, label=label)
        ax.fill_between(
            axis.axis, f - 2 * sd, f + 2 * sd, color=line.get_color(), alpha=0.25
        )
    ax.set_xlabel(_label(axis))
    ax.set_ylabel("intensity (counts per channel)")
    ax.set_title("endmembers, +-2 spreads")
    ax.legend(fontsize=8)
    top = max(float(np.nanmax(stds)), 1e-12)
    for row, (stack, title, limits) in enumerate(
        ((maps, "abundance", (0, 1)), (stds, "spread", (0, top)))
    ):
        for i in range(n):
            ax = fig.add_subplot(3, n, (row + 1) * n + i + 1)
            image = ax.imshow(
                stack[i], interpolation="nearest", vmin=limits[0], vmax=limits[1]
            )
            ax.set_title(f"{title} {i}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(
        "ensemble result: the spread is how far fits on resampled counts fall "
        "from it (a lower bound of the error)",
        fontsize=9,
    )


def plot_uncertainty(signal):
    """One figure of an ensemble's result and its uncertainty.

    The endmembers with bands of +-2 spreads (``endmember_std``), the
    abundance maps, and the maps of their spreads (``abundance_std``), as
    left by ``s.decomposition(..., ensemble=N)``.

    Parameters
    ----------
    signal : hyperspy.signals.Signal1D
        A signal decomposed with ``ensemble``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if getattr(signal.learning_results, "abundance_std", None) is None:
        raise ValueError(
            "this signal has no ensemble result: run s.decomposition(algorithm=..., "
            "output_dimension=..., ensemble=5) first."
        )
    n = np.asarray(signal.learning_results.factors).shape[1]
    fig = plt.figure(figsize=(max(8, 2.6 * n), 8))
    draw_uncertainty(fig, signal)
    fig.tight_layout()
    return fig


def draw_result(fig, kind, signal, result):
    """Draw a result on ``fig``: endmembers and abundance maps (unmixing;
    ``signal.learning_results``), mean spectrum before and after (denoising),
    latent maps (representation), class map (classifier)."""
    if kind == "unmixing":
        maps = np.asarray(signal.get_decomposition_loadings().data)
        maps = maps.reshape(maps.shape[0], -1, maps.shape[-1])
        axis = signal.axes_manager.signal_axes[0]
        map_rows = int(np.ceil(maps.shape[0] / min(maps.shape[0], 4)))
        ax = fig.add_subplot(map_rows + 1, 1, 1)
        for i, f in enumerate(np.asarray(signal.learning_results.factors).T):
            ax.plot(axis.axis, f, label=f"endmember {i}")  # NaN: not modelled
        ax.set_xlabel(f"{axis.name} ({axis.units})")
        ax.set_ylabel("intensity (counts per channel)")
        ax.legend(fontsize=8)
        _image_grid(
            fig,
            maps,
            "abundance",
            axes=tuple(signal.axes_manager.navigation_axes),
            first_row=1,
            limits=(0, 1),
        )
        fig.suptitle("endmembers, and abundances (fraction; sums to 1 per pixel)")
    elif kind == "denoising":
        ax = fig.add_subplot(111)
        axis = signal.axes_manager.signal_axes[0]
        for s, label in ((signal, "input"), (result, "denoised")):
            mean = s.mean(axis=s.axes_manager.navigation_axes).data
            ax.plot(axis.axis, np.asarray(mean), label=label)
        ax.set_xlabel(f"{axis.name} ({axis.units})")
        ax.set_ylabel("mean intensity (counts per channel)")
        ax.legend()
    elif kind == "representation":
        latent = np.asarray(result.latent.data)
        latent = latent.reshape(latent.shape[0], -1, latent.shape[-1])
        _image_grid(
            fig, latent, "latent", axes=tuple(result.latent.axes_manager.signal_axes)
        )
    else:
        ax = fig.add_subplot(111)
        image = ax.imshow(np.asarray(result.data), interpolation="nearest")
        fig.colorbar(image, ax=ax)
        ax.set_title("class map")


def result_figure_png(kind, signal, result, figsize=(10, 8)):
    """:func:`draw_result` as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    draw_result(fig, kind, signal, result)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()
