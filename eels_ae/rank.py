"""How many components a spectrum image holds: the evidence and an estimate.

Brun et al. (2024) call the choice of the number of endmembers delicate, and the
usual tools look at the singular values only: HyperSpy's
``estimate_elbow_position`` finds the elbow of the scree plot, and a noise
test keeps the singular values above the largest one pure noise would give
(the Marchenko-Pastur edge). Both miss weak components whose singular value
sits in the noise, and the noise test overcounts on real detectors, whose
noise is correlated between neighbouring channels.

:func:`estimate_n_components` adds what a spectrum image has and a table of
spectra has not: neighbouring pixels. The loading map of a real component is
spatially coherent (phases, thickness and drift change smoothly from pixel
to pixel), that of a noise component is not. A component counts when the
lag-1 spatial autocorrelation of its loading map stands ``z`` standard
deviations above that of white noise; the estimate is the number of leading
components that do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .result_checks import few_pixel_map
from .spectrum_image import as_spectrum_image
from .streaming import RowStream
from .validation import check_finite

__all__ = ["ComponentEvidence", "estimate_n_components"]

#: Threshold of the spatial autocorrelation above which the test has too
#: little power to count real components (their maps reach 0.5-1).
SPATIAL_POWER = 0.6


@dataclass
class ComponentEvidence:
    """What :func:`estimate_n_components` found.

    Attributes
    ----------
    n_components : int
        The estimate: 1 plus the number of the following components whose
        loading maps are spatially coherent, in order, up to the first that
        is not.
    singular_values : ndarray
        Of the (Poisson-normalised, uncentred) spectra, largest first.
    noise_edge : float
        The largest singular value white noise of the same level and shape
        would reach (Marchenko-Pastur); ``n_above_edge`` count above it.
    n_above_edge : int
        The estimate of the noise test alone (overcounts when the noise is
        correlated between channels, as on real detectors).
    spatial_correlation : ndarray
        Lag-1 autocorrelation of each component's loading map (over both
        image directions): about 0 for noise, up to 1 for smooth maps.
    threshold : float
        ``z`` standard deviations of that autocorrelation for white noise.
    poisson_normalised : bool
        Whether the spectra were scaled as HyperSpy's
        ``normalize_poissonian_noise`` does (non-negative data).
    outliers : list of int
        Components (0 = the first) whose loading map is a few pixels
        (spikes, hot pixels): neither counted nor stopping the count; a
        warning names them.
    n_range : (int, int)
        What the evidence supports: ``n_components`` up to the count of a
        test at half the ``z`` (or, where the image has too few pixels for
        the spatial test to pass at all, up to the noise test's count).
        ``n_range[0] == n_range[1]`` when the evidence is clear.
    too_few_pixels : bool
        True when the threshold is so high (few neighbour pairs) that the
        spatial test can hardly count anything: ``n_components`` is then a
        floor, not an estimate (a warning says so).
    """

    n_components: int
    singular_values: np.ndarray
    noise_edge: float
    n_above_edge: int
    spatial_correlation: np.ndarray
    threshold: float
    poisson_normalised: bool
    n_range: tuple = (1, 1)
    too_few_pixels: bool = False
    outliers: list = None

    def plot(self, elbow=None):
        """Scree plot with the noise edge, and the spatial coherence of each
        component with its threshold; components counted are filled.

        Parameters
        ----------
        elbow : int, optional
            Another estimate to mark (e.g. HyperSpy's
            ``s.estimate_elbow_position()``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        k = np.arange(1, len(self.singular_values) + 1)
        counted = k <= self.n_components
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
        a.semilogy(k, self.singular_values, "-", color="0.6", lw=1)
        a.semilogy(
            k[counted],
            self.singular_values[counted],
            "o",
            color="C0",
            label=f"counted ({self.n_components})",
        )
        a.semilogy(
            k[~counted],
            self.singular_values[~counted],
            "o",
            mfc="none",
            color="C0",
            label="not counted",
        )
        a.axhline(
            self.noise_edge,
            color="C3",
            ls="--",
            label=f"noise edge ({self.n_above_edge} above)",
        )
        if elbow is not None:
            a.axvline(elbow, color="C2", ls=":", label=f"elbow ({elbow})")
        a.set(
            xlabel="component",
            ylabel="singular value"
            + (" (Poisson-normalised)" if self.poisson_normalised else ""),
            title="scree plot",
        )
        a.legend(fontsize=8)
        b.bar(k, self.spatial_correlation, color=np.where(counted, "C0", "0.75"))
        b.axhline(self.threshold, color="C3", ls="--", label="white-noise threshold")
        b.set(
            xlabel="component",
            ylabel="lag-1 autocorrelation of the map",
            title="spatial coherence of the loading maps",
            ylim=(-0.1, 1.05),
        )
        b.legend(fontsize=8)
        from matplotlib.ticker import MaxNLocator

        for ax in (a, b):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        low, high = self.n_range
        fig.suptitle(
            f"estimated number of components: {self.n_components}"
            + (f" (the evidence supports {low}-{high})" if high > low else "")
        )
        fig.tight_layout()
        return fig


def estimate_n_components(X, max_components=20, z=5.0, random_state=0):
    """Estimate how many components a spectrum image holds.

    Parameters
    ----------
    X : hyperspy signal, or array (rows, columns, channels)
        A spectrum image or line scan (eager or lazy; numpy or dask).
    max_components : int, default 20
        Components examined.
    z : float, default 5
        How many standard deviations of white noise's spatial
        autocorrelation a loading map must exceed to count.
    random_state : int, default 0
        Seeds the randomised SVD (and the sample of spectra on large data).

    Returns
    -------
    ComponentEvidence
        The estimate and its evidence (``.plot()`` shows it).

    Notes
    -----
    Non-negative data are scaled as HyperSpy's ``normalize_poissonian_noise``
    does, so that Poisson noise is about white. The singular vectors come
    from a randomised SVD of at most 20000 spectra; every pixel is then
    projected on them (block by block for lazy data). The noise level of the
    Marchenko-Pastur edge is the mean square left after the leading
    components. Measured on the synthetic chequerboard sets against
    HyperSpy's ``estimate_elbow_position``: ``benchmarks/n_components.py``.

    Examples
    --------
    >>> ev = eels_ae.estimate_n_components(s)  # doctest: +SKIP
    >>> ev.n_components, ev.plot()  # doctest: +SKIP
    """
    from sklearn.utils.extmath import randomized_svd

    name = "estimate_n_components"
    if not (isinstance(max_components, (int, np.integer)) and max_components >= 2):
        raise ValueError(
            f"max_components must be an integer >= 2, got {max_components!r}."
        )
    if not (np.isscalar(z) and float(z) > 0):
        raise ValueError(f"z must be a number > 0, got {z!r}.")
    si = as_spectrum_image(X, name=name)
    spectra = si.spectra()
    summary = check_finite(spectra, where=si.where)
    n, B = summary.n_samples, summary.n_features
    if n < 9:
        raise ValueError(
            f"{name} needs the maps of at least 9 pixels to judge their spatial "
            f"coherence, got {n}."
        )
    k = int(min(max_components, n - 1, B))
    stream = RowStream(spectra)
    col_mean = np.zeros(B)
    for _, block in stream.blocks():
        col_mean += _despiked(block).sum(axis=0, dtype=np.float64)
    col_mean /= n
    poisson = summary.n_negative == 0

    def normalised(block):
        block = _despiked(block)
        if not poisson:
            return block
        rows = np.sqrt(np.clip(block.mean(axis=1), 1e-12, None))[:, None]
        return block / rows / np.sqrt(np.clip(col_mean, 1e-12, None))[None]

    rng = np.random.default_rng(random_state)
    _, sample = stream.sample_rows(20000, rng)
    Xs = normalised(sample)
    _, s, Vt = randomized_svd(
        Xs, k, n_iter=7, random_state=int(rng.integers(2**31 - 1))
    )
    # Noise variance per element: what the leading components leave.
    ns, nb = Xs.shape
    left = max(float((Xs**2).sum() - (s**2).sum()), 0.0) / max((ns - k) * (nb - k), 1)
    edge = np.sqrt(left) * (np.sqrt(ns) + np.sqrt(nb))
    # Loadings of every pixel (projections on the components), as maps.
    loadings = stream.map_blocks(lambda block: normalised(block) @ Vt.T)
    rows, cols = si.cube.shape[:2]
    maps = loadings.T.reshape(k, rows, cols)
    r, pairs = _spatial_autocorrelation(maps)
    threshold = float(z) / np.sqrt(max(pairs, 1))
    outliers = [i for i in range(1, k) if few_pixel_map(maps[i]) is not None]
    count = _leading(r, threshold, k, outliers)
    n_above = int((s > edge).sum())
    # The smooth maps of real components reach an autocorrelation of 0.5-1;
    # a threshold near that leaves the test without power (a 10-pixel line
    # scan: 9 pairs, threshold 1.7, nothing can count).
    too_few = threshold > SPATIAL_POWER
    high = max(count, _leading(r, threshold / 2.0, k, outliers))
    if outliers:
        from .validation import warn

        warn(
            f"{name}: the maps of component(s) {outliers} are a few pixels each "
            "(X-ray spikes or hot pixels?): not counted. Remove them before "
            "unmixing (HyperSpy's s.spikes_removal_tool()), or they become "
            "endmembers."
        )
    if too_few:
        high = max(high, n_above)
        from .validation import warn

        warn(
            f"{name}: {n} pixels give the spatial test no power (a map must "
            f"reach an autocorrelation of {threshold:.2f} to count): "
            f"{count} is a floor; the singular values put {n_above} above the "
            f"noise. The evidence supports {count}-{high} (n_range); look at "
            "the maps of each."
        )
    # Singular values on the scale of all pixels (the sample may be smaller).
    s_all = s * np.sqrt(n / ns)
    return ComponentEvidence(
        n_components=count,
        singular_values=s_all,
        noise_edge=float(edge * np.sqrt(n / ns)),
        n_above_edge=n_above,
        spatial_correlation=r,
        threshold=threshold,
        poisson_normalised=bool(poisson),
        n_range=(count, int(high)),
        too_few_pixels=bool(too_few),
        outliers=outliers,
    )


def _despiked(block, width=5, z=10.0):
    """``block`` (float64) with single-channel outliers (X-ray spikes) set to
    the median of their ``width`` neighbours: a channel more than ``z``
    robust standard deviations of the spectrum's own residual above it.
    For counting only; a spike's component would take the place of a
    phase's in the leading singular vectors."""
    from scipy.ndimage import median_filter

    block = np.array(block, dtype=np.float64)
    if block.shape[1] < 2 * width:
        return block
    med = median_filter(block, size=(1, width), mode="nearest")
    resid = block - med
    scale = 1.4826 * np.median(np.abs(resid), axis=1, keepdims=True)
    # Counts: never below the Poisson noise of the median (a 3-count channel
    # among zeros at low dose is noise, not a spike).
    scale = np.maximum(scale, np.sqrt(np.clip(med, 0.0, None) + 1.0))
    spikes = resid > z * scale
    block[spikes] = med[spikes]
    return block


def _leading(r, threshold, k, skip=()):
    """How many leading components count: the first, and those after it
    whose autocorrelation passes ``threshold``, up to the first that fails
    (components in ``skip`` are passed over)."""
    count = 1
    for i in range(1, k):
        if i in skip:
            continue
        if r[i] <= threshold:
            break
        count += 1
    return count


def _spatial_autocorrelation(maps):
    """Lag-1 autocorrelation of each map over both image directions, and the
    number of neighbour pairs it is taken over."""
    m = maps - maps.mean(axis=(1, 2), keepdims=True)
    num = (m[:, :, 1:] * m[:, :, :-1]).sum(axis=(1, 2))
    num += (m[:, 1:] * m[:, :-1]).sum(axis=(1, 2))
    pairs = m[0, :, 1:].size + m[0, 1:].size
    var = (m**2).mean(axis=(1, 2))
    return num / pairs / np.where(var > 0, var, 1.0), pairs
