"""The "maps" input of a registry entry: abundance maps of a decomposition.

The multichannel rVAE works on windows of maps, not on spectra: its input is
the loadings of the signal's decomposition (``s.learning_results``) or, when
there is none, of an NMF run on a copy. ``channels`` picks the components.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .compat import copy_with_new_data

__all__ = ["MAPS_INPUT_DOC", "abundance_maps_input"]

#: Channels used when none are chosen (Roccapriore et al.'s figures use 3).
DEFAULT_CHANNELS = 3

MAPS_INPUT_DOC = """\
    channels : int or sequence of int, optional
        Components of the decomposition to use as the channels of the maps,
        by index (``[0, 2, 5]``); an int ``n`` means the first ``n``.
        Default: the first 3 (fewer if there are fewer). The maps are the
        loadings in ``s.learning_results`` when there is a decomposition,
        else those of an NMF run here on a copy (with a warning).
    n_components : int, optional
        Components of that NMF (default: enough for ``channels``, at least
        3). Ignored when there is a decomposition.
"""


def abundance_maps_input(signal, params, call):
    """``(rows, columns, channels)`` maps of ``signal`` and their context."""
    am = signal.axes_manager
    if am.navigation_dimension != 2:
        raise ValueError(
            f"{call} works on windows of maps and needs a spectrum image with 2 "
            f"navigation dimensions, got {am.navigation_dimension}."
            + (
                " A line scan has no 2-D neighbourhood: use s.vae() instead."
                if am.navigation_dimension == 1
                else ""
            )
        )
    channels = _channel_list(params.get("channels"))
    maps, channels, source = _abundance_maps(
        signal, channels, params.get("n_components"), params
    )
    return maps, {"channels": channels, "source": source}


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
            stacklevel=4,
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
    # HyperSpy decomposes floating-point data only: integer detector counts
    # (int16 dm files) are converted on the copy.
    data = signal.data
    if data.dtype.kind in "iub":
        data = data.astype("float32")
    work = copy_with_new_data(signal, data)
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
