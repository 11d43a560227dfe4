"""``s.rvae(...)``: the multichannel rotationally invariant VAE on abundance maps."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..estimators import RVAE
from .compat import copy_with_new_data
from .params import check_params, fitted_model
from .rvae_results import RVAEResult

__all__ = ["rvae"]

#: Channels used when none are chosen (source 000's figures use 3).
DEFAULT_CHANNELS = 3


def rvae(
    self,
    channels=None,
    window=10,
    latent_dim=2,
    translation=True,
    normalize="channel",
    n_components=None,
    model=None,
    **params,
):
    """Rotationally invariant VAE over windows of abundance maps (source 000).

    The input channels are maps of this spectrum image's decomposition: the
    loadings in ``s.learning_results`` when there is a decomposition, else an
    NMF that is run here on a copy (with a warning). A ``window x window``
    patch is cut around every pixel (border pixels excluded), the channels
    are stacked, and an :class:`eels_ae.RVAE` encodes each patch into an
    angle, a shift and ``latent_dim`` content latents.

    Parameters
    ----------
    channels : int or sequence of int, optional
        Components to use, by index (``[0, 2, 5]``); an int ``n`` means the
        first ``n``. Default: the first 3 (fewer if there are fewer).
    window : int, default 10
        Patch width in pixels; at most the map's width and height.
    latent_dim : int, default 2
        Content latents.
    translation : bool, default True
        Also encode a shift of the patch content.
    normalize : "channel", "joint" or sequence, default "channel"
        ``"channel"``: each map to [0, 1]; ``"joint"``: all by one range;
        one ``(low, high)`` (or ``high``) per channel to weight channels, e.g.
        ``[1, 2, 1]`` (see :class:`eels_ae.RVAE`).
    n_components : int, optional
        Components of the NMF run when there is no decomposition (default:
        enough for ``channels``, at least 3). Ignored when there is one.
    model : eels_ae.RVAE, optional
        A fitted model to apply without training (same number of channels;
        the other arguments but ``channels`` and ``n_components`` are then
        the model's).
    **params
        Other :class:`eels_ae.RVAE` parameters: ``rotation``,
        ``noise_variance``, ``patches_per_epoch``, ``max_epochs``,
        ``batch_size``, ``learning_rate``, ``device``, ``random_state``, ...

    Returns
    -------
    RVAEResult
        ``angle``, ``latent``, ``latent_std``, ``shift``, ``input``,
        ``reconstruction``: HyperSpy signals on the interior grid (the
        navigation calibration kept, offset by half a window), ``model``,
        ``channels``, and the figures (``plot_angle``, ``plot_latent``,
        ``plot_histograms``, ``plot_latent_distribution``,
        ``plot_manifold``, ``plot_reconstruction``) and ``decode``.

    Raises
    ------
    ValueError
        Without 2 navigation dimensions; channels out of range; a window
        larger than the map; constant maps; NaN or inf in the maps (with the
        pixels); NMF on negative data (decompose first, see the message).
    TypeError
        For an unknown keyword (the message lists the valid ones).

    Notes
    -----
    The signal and its ``learning_results`` are never modified. Works on
    lazy signals: the maps of a decomposition are small, and the patches are
    built band by band during training, never all at once.

    Examples
    --------
    >>> s.decomposition(algorithm="NMF", output_dimension=6)
    >>> result = s.rvae(channels=[0, 2, 3], window=12, random_state=0)
    >>> result.plot_angle()
    >>> result.plot_manifold(n=8)
    """
    am = self.axes_manager
    if am.navigation_dimension != 2:
        raise ValueError(
            "s.rvae() works on windows of maps and needs a spectrum image with 2 "
            f"navigation dimensions, got {am.navigation_dimension}."
            + (
                " A line scan has no 2-D neighbourhood: use s.vae() instead."
                if am.navigation_dimension == 1
                else ""
            )
        )
    if model is None:
        args = dict(window=window, latent_dim=latent_dim, translation=translation)
        check_params(RVAE, params, "s.rvae()", exclude=list(args) + ["normalize"])
        params = {**params, **args, "normalize": normalize}
    channels = _channel_list(channels)
    maps, channels, source = _abundance_maps(self, channels, n_components, params)
    model = fitted_model(RVAE, model, params if model is None else {}, "s.rvae()", maps)
    return RVAEResult.from_maps(self, model, maps, channels, source)


def _channel_list(channels):
    if channels is None:
        return None
    if isinstance(channels, numbers.Integral):
        if channels < 1:
            raise ValueError(f"channels={channels}: give at least one channel.")
        return list(range(int(channels)))
    try:
        out = [int(c) for c in channels]
    except (TypeError, ValueError):
        raise TypeError(
            f"channels must be an int or a sequence of component indices, got "
            f"{channels!r}."
        ) from None
    if not out or len(set(out)) != len(out) or any(c < 0 for c in out):
        raise ValueError(
            f"channels={channels!r}: give distinct, non-negative component indices."
        )
    return out


def _abundance_maps(signal, channels, n_components, params):
    """``(rows, columns, channels)`` maps of the decomposition, the channels, and
    where they came from."""
    lr = signal.learning_results
    loadings = getattr(lr, "loadings", None)
    if loadings is not None:
        source = f"s.learning_results ({lr.decomposition_algorithm})"
    else:
        need = max(DEFAULT_CHANNELS, max(channels) + 1 if channels else 0)
        n = int(n_components or need)
        if channels and max(channels) >= n:
            raise ValueError(
                f"channels={channels} needs at least {max(channels) + 1} NMF "
                f"components, but n_components={n}."
            )
        loadings = _nmf_loadings(signal, n, params.get("random_state"))
        source = f"NMF ({n} components)"
        warnings.warn(
            f"s.rvae(): this signal has no decomposition, so an NMF with {n} "
            "components was run on a copy (s.learning_results is untouched). To "
            "choose the decomposition, run it first, e.g. "
            f"s.decomposition(algorithm='NMF', output_dimension={n}), then pick "
            "the components with channels=[...].",
            UserWarning,
            stacklevel=3,
        )
    loadings = np.asarray(loadings)
    k = loadings.shape[1]
    channels = channels or list(range(min(DEFAULT_CHANNELS, k)))
    bad = [c for c in channels if c >= k]
    if bad:
        raise ValueError(
            f"channels {bad} are out of range: the decomposition ({source}) has {k} "
            f"components, indices 0 to {k - 1}."
        )
    ny, nx = signal.axes_manager.navigation_shape[::-1]
    maps = loadings[:, channels].reshape(ny, nx, len(channels))
    return maps, channels, source


def _nmf_loadings(signal, n, random_state):
    """NMF loadings of a copy of ``signal`` (its own learning_results untouched)."""
    from sklearn.decomposition import NMF

    # A new signal object around the same data: decomposition does not write
    # to the data, and the results land in the copy's learning_results.
    work = copy_with_new_data(signal, signal.data)
    nmf = NMF(n_components=n, init="nndsvda", max_iter=500, random_state=random_state)
    try:
        work.decomposition(algorithm=nmf, output_dimension=n, print_info=False)
    except ValueError as err:
        if "negative" not in str(err).lower():
            raise
        raise ValueError(
            "s.rvae(): the data have negative values, so NMF cannot make the "
            "abundance maps. Decompose first with a method that suits the data "
            "(e.g. s.decomposition(algorithm='SVD') or NMF on data without a "
            "subtracted background), then call s.rvae(channels=[...])."
        ) from None
    return work.learning_results.loadings
