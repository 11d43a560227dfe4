"""Spectrum images whose spectra vary along known continuous parameters.

A variational autoencoder should find, in its latent space, the few
continuous factors that make the spectra of a spectrum image differ. To test
that, :func:`edge_variation_spectrum_image` builds an image where exactly two
factors vary, each along one scan direction:

* the **edge onset** shifts linearly along ``x`` (columns) by ``shift`` eV
  (a chemical shift, or an uncorrected energy drift);
* the **edge intensity** relative to the background (the jump ratio, i.e.
  the concentration of the element) changes linearly along ``y`` (rows) from
  ``ratio[0]`` to ``ratio[1]``.

Model (energies ``E`` in eV, ``x = E - E0`` with ``E0 = onset + shift_j``):

* background: a power law ``(E / onset) ** -r`` with ``r = 3`` (unit height
  at the reference onset);
* edge, per unit of ``ratio``: an error-function step of width
  ``step_width`` decaying as ``(E / E0) ** -2`` above the onset, plus a
  Gaussian white line of height 0.8 at ``x = 2`` eV (FWHM 2 eV);
* the spectrum is ``counts * (background + ratio_i * edge)`` evaluated at
  each channel's centre; the noisy spectra are Poisson draws from it.

The true parameters are returned as calibrated maps, so latent maps can be
compared with them pixel by pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from .lowdose import _check_shape

__all__ = ["VariationSI", "edge_variation_spectrum_image"]

_R = 3.0  # power-law exponent of the background
_DECAY = 2.0  # continuum decay exponent above the onset
_WHITE_LINE = (2.0, 0.8, 2.0)  # position above E0 (eV), height, FWHM (eV)
_PIXEL_SIZE_NM = 1.0


@dataclass(eq=False)
class VariationSI:
    """A spectrum image with two known factors of variation.

    Attributes
    ----------
    signal : exspy.signals.EELSSpectrum
        Noisy spectrum image (Poisson counts, float32); navigation axes
        ``y``, ``x`` (nm) and signal axis "Energy loss" (eV).
    clean : exspy.signals.EELSSpectrum
        Expected counts (no noise), same axes.
    onset : hyperspy.signals.Signal2D
        True edge onset (eV) at every pixel: it varies along ``x`` only.
    ratio : hyperspy.signals.Signal2D
        True edge-to-background ratio at every pixel: it varies along ``y``
        only.
    """

    signal: object
    clean: object
    onset: object
    ratio: object


def edge_variation_spectrum_image(
    shape=(24, 32),
    n_channels=128,
    offset=380.0,
    scale=0.5,
    onset=400.0,
    shift=5.0,
    ratio=(0.3, 1.5),
    counts=200.0,
    step_width=1.0,
    random_state=None,
):
    """Synthetic EELS spectrum image: the edge shifts along x, grows along y.

    See the module docstring for the model.

    Parameters
    ----------
    shape : (int, int)
        ``(rows, columns)``: ``y`` along rows, ``x`` along columns. One row
        gives a line scan along ``x`` (one navigation axis) whose ratio is
        ``ratio[0]``.
    n_channels : int
        Energy channels (at least 16).
    offset, scale : float
        Energy of the first channel and channel width (eV).
    onset : float
        Edge onset (eV) of the first column.
    shift : float
        Onset shift (eV) from the first to the last column.
    ratio : float or (float, float)
        Edge height relative to the background at the onset, from the first
        to the last row.
    counts : float
        Background counts per channel at the reference ``onset``: sets the
        dose (Poisson signal-to-noise ratio ``sqrt(counts)`` there).
    step_width : float
        Gaussian width (eV) of the edge step.
    random_state : None, int or numpy.random.Generator
        Seed of the Poisson noise.

    Returns
    -------
    VariationSI

    Raises
    ------
    ValueError
        For an empty shape, fewer than 16 channels, non-positive ``scale``,
        ``offset`` or ``counts``, negative ratios, or an energy axis that
        does not hold every pixel's edge.
    """
    ny, nx = _check_shape(shape)
    if nx < 2:
        raise ValueError(f"shape needs at least 2 columns (x), got {shape!r}.")
    if int(n_channels) < 16:
        raise ValueError(f"n_channels must be at least 16, got {n_channels}.")
    if not (scale > 0 and offset > 0 and counts > 0):
        raise ValueError(
            f"scale, offset and counts must be positive, got {scale}, {offset}, "
            f"{counts}."
        )
    r = np.broadcast_to(np.asarray(ratio, dtype=float), (2,))
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError(f"ratio must be finite and >= 0, got {ratio!r}.")
    energy = offset + scale * np.arange(int(n_channels))
    onsets = onset + shift * np.arange(nx) / (nx - 1)  # (nx,)
    if onsets.min() - 3 * step_width < energy[0] or onsets.max() + 10 > energy[-1]:
        raise ValueError(
            f"the energy axis ({energy[0]:g}-{energy[-1]:g} eV) must hold every "
            f"onset ({onsets.min():g}-{onsets.max():g} eV) with room before and "
            "10 eV after it."
        )
    ratios = np.linspace(r[0], r[1], ny)  # (ny,)

    x = energy[None, :] - onsets[:, None]  # (nx, n)
    step = 0.5 * (1.0 + erf(x / (np.sqrt(2.0) * step_width)))
    e_top = np.maximum(energy[None, :], onsets[:, None])
    edge = step * (e_top / onsets[:, None]) ** -_DECAY
    pos, height, fwhm = _WHITE_LINE
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    edge = edge + height * np.exp(-0.5 * ((x - pos) / sigma) ** 2)
    background = (energy / onset) ** -_R  # (n,)
    clean = counts * (background + ratios[:, None, None] * edge[None])
    clean = clean.astype(np.float32)
    rng = np.random.default_rng(random_state)
    noisy = rng.poisson(clean).astype(np.float32)

    import hyperspy.api as hs
    from exspy.signals import EELSSpectrum

    nav = [
        {"name": "y", "units": "nm", "size": ny, "scale": _PIXEL_SIZE_NM},
        {"name": "x", "units": "nm", "size": nx, "scale": _PIXEL_SIZE_NM},
    ]
    if ny == 1:
        nav = nav[1:]
    e_axis = {
        "name": "Energy loss",
        "units": "eV",
        "size": int(n_channels),
        "scale": float(scale),
        "offset": float(offset),
        "navigate": False,
    }
    title = f"Synthetic edge variation ({counts:g} counts/channel)"

    def spectrum(data, t):
        data = data if ny > 1 else data[0]
        s = EELSSpectrum(data, axes=[dict(a) for a in nav] + [dict(e_axis)])
        s.metadata.General.title = t
        return s

    def image(data, t):
        # A line scan's truth is a profile along x.
        cls = hs.signals.Signal2D if ny > 1 else hs.signals.Signal1D
        axes = [dict(a, navigate=False) for a in nav]
        out = cls(data if ny > 1 else data[0], axes=axes)
        out.metadata.General.title = t
        return out

    return VariationSI(
        signal=spectrum(noisy, title),
        clean=spectrum(clean, title + " clean"),
        onset=image(np.broadcast_to(onsets, (ny, nx)).copy(), "True edge onset (eV)"),
        ratio=image(
            np.broadcast_to(ratios[:, None], (ny, nx)).copy(), "True edge ratio"
        ),
    )
