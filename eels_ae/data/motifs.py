"""Synthetic multichannel motif images: ground truth for the rotational VAE.

Roccapriore et al. (2024) feeds a rotationally invariant VAE with windows of NMF
abundance maps. To test such a model, :func:`motif_maps` builds abundance-like maps
(``rows, columns, 3``) holding copies of two kinds of motif, each at a known
position, class and angle:

* class 0, a **rod with a satellite**: an elongated blob (3 px long sd, 0.9 px
  short sd) with a small round blob 3.6 px off one of its long sides;
* class 1, a **three-lobed motif with one heavier lobe**: three blobs 2.6 px
  from the centre, 120 degrees apart, the first one 1.8 times as bright.

Both kinds light the *same* channels: the body (rod, light lobes) is in
channels 0 and 1, the odd part (satellite, heavy lobe) in channels 1 and 2.
Only their shape tells them apart, and neither has a rotational symmetry, so
their angle is defined over the full circle. Angles are measured from the
``x`` axis (columns) towards the ``y`` axis (rows): clockwise on an image
shown with its origin at the top left. At angle 0 the satellite and the heavy
lobe point along ``+y``.

:meth:`MotifImage.spectrum_image` turns the maps into a spectrum image (one
Gaussian peak per channel), to test the path from spectra to NMF maps to the
rVAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["MOTIF_FAMILIES", "MOTIF_PARTS", "MotifImage", "motif_maps"]

#: The blobs of each motif class, in the motif's frame (``u`` along the x
#: axis, ``v`` along y, pixels, before rotation): centre (u, v), sd (u, v),
#: amplitude and the channel weights of that part.
MOTIF_PARTS = {
    0: [  # rod with a satellite on one side
        ((0.0, 0.0), (3.0, 0.9), 1.0, (1.0, 0.4, 0.0)),
        ((0.0, 3.6), (0.9, 0.9), 1.0, (0.0, 0.4, 1.0)),
    ],
    1: [  # three lobes, the one along +v heavier
        ((0.0, 2.6), (1.0, 1.0), 1.8, (0.0, 0.4, 1.0)),
        ((2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.4, 0.0)),
        ((-2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.4, 0.0)),
    ],
}

#: Other motif families, for tests on images unlike the training ones: in each,
#: class 0 has a body with a two-fold (or four-fold) symmetry whose only
#: asymmetry is a weaker part in another channel, so that its angle over the
#: full circle rests on that part alone; class 1 is a three-lobed motif.
MOTIF_FAMILIES = {
    "default": MOTIF_PARTS,
    # Rod in channel 0 only, a small satellite in channel 2 only.
    "split": {
        0: [
            ((0.0, 0.0), (3.0, 0.9), 1.0, (1.0, 0.0, 0.0)),
            ((0.0, 3.4), (0.8, 0.8), 0.7, (0.0, 0.0, 1.0)),
        ],
        1: [
            ((0.0, 2.6), (1.0, 1.0), 1.0, (0.0, 1.0, 0.0)),
            ((2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.0, 0.0)),
            ((-2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.0, 0.0)),
        ],
    },
    # Two equal lobes (a dumbbell) in channel 0, a weak dot in channel 2 on
    # one side of its waist.
    "dumbbell": {
        0: [
            ((2.4, 0.0), (1.1, 1.1), 1.0, (1.0, 0.2, 0.0)),
            ((-2.4, 0.0), (1.1, 1.1), 1.0, (1.0, 0.2, 0.0)),
            ((0.0, 2.8), (0.8, 0.8), 0.6, (0.0, 0.2, 1.0)),
        ],
        1: [
            ((0.0, 2.6), (1.0, 1.0), 1.4, (0.0, 0.2, 1.0)),
            ((2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.2, 0.0)),
            ((-2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.2, 0.0)),
        ],
    },
    # Four equal lobes (four-fold) in channel 0, a weak dot in channel 1
    # between two of them.
    "cross": {
        0: [
            ((2.4, 0.0), (0.9, 0.9), 1.0, (1.0, 0.0, 0.0)),
            ((-2.4, 0.0), (0.9, 0.9), 1.0, (1.0, 0.0, 0.0)),
            ((0.0, 2.4), (0.9, 0.9), 1.0, (1.0, 0.0, 0.0)),
            ((0.0, -2.4), (0.9, 0.9), 1.0, (1.0, 0.0, 0.0)),
            ((2.0, 2.0), (0.8, 0.8), 0.6, (0.0, 1.0, 0.0)),
        ],
        1: [
            ((0.0, 2.6), (1.0, 1.0), 1.4, (0.0, 0.0, 1.0)),
            ((2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.0, 0.0)),
            ((-2.25, -1.3), (1.0, 1.0), 1.0, (1.0, 0.0, 0.0)),
        ],
    },
}

#: Radius (pixels) that holds every part of both motifs.
MOTIF_RADIUS = 5.0


@dataclass
class MotifImage:
    """Motif maps and their ground truth.

    Attributes
    ----------
    maps : ndarray, shape (rows, columns, 3)
        Noisy maps (float32), what an NMF would give as abundance maps.
    clean : ndarray, shape (rows, columns, 3)
        The same without noise.
    centres : ndarray of int, shape (n, 2)
        ``(row, column)`` of each motif's centre.
    angles : ndarray, shape (n,)
        Angle of each motif in radians, in ``[0, 2 pi)``.
    labels : ndarray of int, shape (n,)
        Class of each motif (0: rod with satellite, 1: three lobes).
    noise : float
        Standard deviation of the Gaussian noise added to ``clean``.
    """

    maps: np.ndarray
    clean: np.ndarray
    centres: np.ndarray
    angles: np.ndarray
    labels: np.ndarray
    noise: float

    @property
    def angle_map(self):
        """``(rows, columns)``: the motif angle at each centre, NaN elsewhere."""
        out = np.full(self.maps.shape[:2], np.nan)
        out[tuple(self.centres.T)] = self.angles
        return out

    @property
    def class_map(self):
        """``(rows, columns)``: the motif class at each centre, -1 elsewhere."""
        out = np.full(self.maps.shape[:2], -1, dtype=int)
        out[tuple(self.centres.T)] = self.labels
        return out

    def centre_codes(self, codes):
        """Where the motif centres sit on the interior grid of rVAE codes.

        Parameters
        ----------
        codes : eels_ae.estimators.rvae.RVAECodes
            Codes of these maps (:meth:`eels_ae.RVAE.encode`).

        Returns
        -------
        index : (ndarray, ndarray)
            Rows and columns of the interior grid: ``codes.z[index]``.
        labels, angles : ndarray
            Truth of those motifs. Motifs closer than half a window to the
            border have no window centred on them and are left out.
        """
        r, c = (self.centres - np.array(codes.offset)).T
        rows, cols = codes.z.shape[:2]
        keep = (r >= 0) & (c >= 0) & (r < rows) & (c < cols)
        return (r[keep], c[keep]), self.labels[keep], self.angles[keep]

    def score(self, codes, random_state=0):
        """rVAE codes against the truth, at the motif centres.

        Returns
        -------
        dict
            ``"angle_correlation"``: circular correlation of the encoded and
            the true angle for class 0 and class 1 (``None`` without
            rotation); ``"class_ari"``: adjusted Rand index of a 2-cluster
            k-means of the content latents against the classes;
            ``"n_motifs"``: motifs scored.
        """
        from sklearn.cluster import KMeans
        from sklearn.metrics import adjusted_rand_score

        from ..metrics import circular_correlation

        index, labels, angles = self.centre_codes(codes)
        corr = None
        if codes.angle is not None:
            angle = codes.angle[index]
            corr = [
                circular_correlation(angle[labels == k], angles[labels == k])
                for k in (0, 1)
            ]
        kmeans = KMeans(2, n_init=10, random_state=random_state)
        ari = adjusted_rand_score(labels, kmeans.fit_predict(codes.z[index]))
        return {
            "angle_correlation": corr,
            "class_ari": float(ari),
            "n_motifs": len(labels),
        }

    def spectrum_image(self, n_channels=64, dose=None, random_state=None):
        """The maps mixed into spectra: a spectrum image for NMF.

        Channel ``k`` of the maps becomes a Gaussian peak centred at
        ``(k + 1) / 4`` of the energy range over a small constant background.

        Parameters
        ----------
        n_channels : int, default 64
        dose : float or None
            Counts of the brightest clean pixel; the spectra are then Poisson
            draws. ``None`` keeps the noise-free mixture of the noisy maps.
        random_state : int, RandomState instance or None

        Returns
        -------
        hyperspy.signals.Signal1D
            Navigation ``(columns, rows)``, calibrated in nm (1 nm per pixel);
            energy in eV.
        """
        import hyperspy.api as hs

        e = np.arange(n_channels, dtype=float)
        peaks = np.stack(
            [
                np.exp(-0.5 * ((e - (k + 1) * n_channels / 4) / (n_channels / 20)) ** 2)
                for k in range(self.maps.shape[-1])
            ]
        )
        abundances = np.clip(self.maps, 0, None) + 0.02
        spectra = abundances @ peaks
        if dose is not None:
            rs = check_random_state(random_state)
            spectra = rs.poisson(spectra * dose / spectra.max()).astype(np.float32)
        s = hs.signals.Signal1D(spectra.astype(np.float32))
        for axis, name in zip(s.axes_manager.navigation_axes, ("x", "y"), strict=True):
            axis.name, axis.units, axis.scale = name, "nm", 1.0
        sig = s.axes_manager.signal_axes[0]
        sig.name, sig.units, sig.scale, sig.offset = "Energy loss", "eV", 0.5, 10.0
        s.metadata.General.title = "Motif spectrum image"
        return s


def render_motif(label, angle, shape, centre, family="default"):
    """One motif (``label`` at ``angle``) on a ``shape`` grid: ``(*shape, 3)``."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    x, y = cols - centre[1], rows - centre[0]
    # Into the motif frame: rotate the image coordinates back by ``angle``.
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    out = np.zeros(tuple(shape) + (3,))
    for (cu, cv), (su, sv), amp, weights in MOTIF_FAMILIES[family][label]:
        blob = amp * np.exp(-0.5 * (((u - cu) / su) ** 2 + ((v - cv) / sv) ** 2))
        out += blob[..., None] * np.asarray(weights)
    return out


def motif_maps(
    shape=(64, 64),
    n_motifs=None,
    min_distance=11.0,
    noise=0.03,
    random_state=None,
    family="default",
):
    """Maps of randomly placed, randomly rotated motifs of two classes.

    Parameters
    ----------
    shape : (int, int), default (64, 64)
        ``(rows, columns)``.
    n_motifs : int or None
        Motifs to place; ``None`` fills the image (as many as 5 random
        trials per pixel fit: slow beyond ~256 x 256 pixels, give a number
        there).
    min_distance : float, default 11
        Smallest distance between two motif centres (pixels): motifs of
        radius ~5 px do not overlap.
    noise : float, default 0.03
        Standard deviation of Gaussian noise (the brightest part of a motif
        is ~1.8).
    random_state : int, RandomState instance or None
    family : str, default "default"
        Which motifs (:data:`MOTIF_FAMILIES`): ``"default"`` (module
        docstring), ``"split"`` (a rod in channel 0 with a satellite in
        channel 2 only), ``"dumbbell"`` (two equal lobes and a weak dot) or
        ``"cross"`` (four equal lobes and a weak dot): class 0 of the last
        three has a two- or four-fold symmetric body whose angle over the full
        circle is set by a weak part in another channel.

    Returns
    -------
    MotifImage
        Classes are drawn with equal probability, angles uniformly over
        ``[0, 2 pi)``; centres lie at least ``MOTIF_RADIUS`` from the border.

    Examples
    --------
    >>> from eels_ae.data import motif_maps
    >>> m = motif_maps((48, 48), random_state=0)
    >>> m.maps.shape
    (48, 48, 3)
    """
    if family not in MOTIF_FAMILIES:
        raise ValueError(
            f"family must be one of {', '.join(map(repr, MOTIF_FAMILIES))}, "
            f"got {family!r}."
        )
    rs = check_random_state(random_state)
    rows, cols = (int(n) for n in shape)
    r = int(np.ceil(MOTIF_RADIUS))
    if rows < 2 * r + 1 or cols < 2 * r + 1:
        raise ValueError(f"shape {shape} is too small: motifs need {2 * r + 1} px.")
    # Random trials (5 per pixel to fill the image, 200 per motif asked
    # for), each kept if far enough from those kept so far: a mask of the
    # pixels closer than min_distance to a kept centre makes that O(1).
    target = n_motifs if n_motifs is not None else rows * cols
    n_trials = 200 * max(1, target) if n_motifs is not None else 5 * rows * cols
    trials = np.column_stack(
        [rs.randint(r, rows - r, n_trials), rs.randint(r, cols - r, n_trials)]
    )
    d = int(np.ceil(min_distance))
    di, dj = np.mgrid[-d : d + 1, -d : d + 1]
    disk = di**2 + dj**2 < min_distance**2
    taken = np.zeros((rows + 2 * d, cols + 2 * d), dtype=bool)  # padded
    centres = []
    for i, j in trials.tolist():
        if len(centres) >= target:
            break
        if not taken[i + d, j + d]:
            centres.append((i, j))
            taken[i : i + 2 * d + 1, j : j + 2 * d + 1] |= disk
    centres = np.array(centres, dtype=int).reshape(-1, 2)
    if n_motifs is not None and len(centres) < n_motifs:
        raise ValueError(
            f"only {len(centres)} of {n_motifs} motifs fit in {shape} at "
            f"min_distance={min_distance}: use a larger image or fewer motifs."
        )
    labels = rs.randint(0, 2, size=len(centres))
    angles = rs.uniform(0, 2 * np.pi, size=len(centres))
    clean = np.zeros((rows, cols, 3))
    for (i, j), label, angle in zip(centres, labels, angles, strict=True):
        # Render in a local box: each motif only touches its neighbourhood.
        lo_i, lo_j = max(0, i - 2 * r), max(0, j - 2 * r)
        hi_i, hi_j = min(rows, i + 2 * r + 1), min(cols, j + 2 * r + 1)
        clean[lo_i:hi_i, lo_j:hi_j] += render_motif(
            label, angle, (hi_i - lo_i, hi_j - lo_j), (i - lo_i, j - lo_j), family
        )
    maps = clean + noise * rs.standard_normal(clean.shape)
    return MotifImage(
        maps=maps.astype(np.float32),
        clean=clean.astype(np.float32),
        centres=centres,
        angles=angles,
        labels=labels,
        noise=float(noise),
    )
