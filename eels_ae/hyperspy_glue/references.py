"""Known reference spectra fitted in every pixel: multiple linear regression
with coefficient, residual and reduced chi-square maps (Kalinin's lecture notes)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..endmembers import linear_coefficients
from ..fidelity import fit_noise_model
from ..streaming import RowStream, is_dask_array
from ..validation import check_finite, warn
from .adapters import signal_to_spectrum_image

__all__ = ["ReferenceFit", "fit_references"]

#: Spectra (at most) from which the noise model of the chi-square is fitted
#: (a median per intensity bin over a million values or so is plenty; the
#: noise fit was 80 % of the time with 4096).
NOISE_SAMPLES = 1024


@dataclass
class ReferenceFit:
    """What :func:`fit_references` returns.

    Attributes
    ----------
    coefficients : hyperspy.signals.Signal2D
        One map per reference (navigation axis ``reference``, in the order of
        ``names``), on the data's calibrated navigation grid: how much of each
        reference spectrum each pixel holds (1 = the reference as given).
    reduced_chi2 : hyperspy.signals.Signal2D
        Per pixel, the squared residual summed over the channels in noise
        units, divided by ``channels - references``: about 1 where the
        references explain the spectrum up to its noise, larger where
        something is missing (another phase, an energy shift).
    residual : hyperspy signal
        Data minus fit, like the input (lazy for lazy input), on the fitted
        energy range.
    fitted : hyperspy signal
        The fit, ``coefficients @ references``, like ``residual``.
    references : hyperspy.signals.Signal1D
        The references as fitted: on the data's energy axis (interpolated
        where they were on another one) and range.
    names : list of str
    noise : tuple of float
        ``(gain, offset)`` of the noise model ``variance = gain * counts +
        offset`` estimated from the residual (:func:`eels_ae.fidelity.fit_noise_model`).
    notes : list of str
        What was done to the references (interpolation), as warned.
    """

    coefficients: object
    reduced_chi2: object
    residual: object
    fitted: object
    references: object
    names: list
    noise: tuple
    notes: list = field(default_factory=list)

    def plot(self, **kwargs):
        """One figure of the fit: the coefficient maps and the reduced
        chi-square map side by side on an image
        (:func:`hyperspy.api.plot.plot_images`; ``kwargs`` go to it), or, on
        a line scan, the coefficient profiles and the reduced chi-square
        along the calibrated scan axis.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import hyperspy.api as hs

        if self._is_line_scan():
            return self._plot_profiles()
        maps = [self.coefficients.inav[i] for i in range(len(self.names))]
        kwargs.setdefault("label", [*self.names, "reduced chi-square"])
        kwargs.setdefault("colorbar", "multi")
        kwargs.setdefault("axes_decor", "off")
        axes = hs.plot.plot_images([*maps, self.reduced_chi2], **kwargs)
        return np.ravel(axes)[0].figure

    def _is_line_scan(self):
        return 1 in self.reduced_chi2.data.shape or self.reduced_chi2.data.ndim == 1

    def _plot_profiles(self):
        import matplotlib.pyplot as plt

        axes = [
            a for a in self.reduced_chi2.axes_manager.signal_axes if a.size > 1
        ] or list(self.reduced_chi2.axes_manager.signal_axes)
        axis = axes[0]
        x = axis.axis
        coefficients = np.asarray(self.coefficients.data).reshape(len(self.names), -1)
        chi2 = np.asarray(self.reduced_chi2.data).ravel()
        fig, (top, bottom) = plt.subplots(
            2, 1, sharex=True, figsize=(7, 5), height_ratios=(2, 1)
        )
        for name, c in zip(self.names, coefficients, strict=True):
            top.plot(x, c, "o-", ms=3, label=name)
        top.set_ylabel("coefficient (1 = the reference)")
        top.legend(fontsize=8)
        top.set_title("reference coefficients along the scan")
        bottom.plot(x, chi2, "k.-", ms=3)
        bottom.axhline(1.0, color="0.5", ls=":", lw=1)
        bottom.set_ylabel("reduced chi-square")
        units = axis.units if isinstance(axis.units, str) and axis.units else ""
        name = axis.name if isinstance(axis.name, str) else "position"
        bottom.set_xlabel(f"{name} ({units})" if units else name)
        fig.tight_layout()
        return fig

    def __repr__(self):
        chi2 = float(np.nanmedian(self.reduced_chi2.data))
        return (
            f"<ReferenceFit: {len(self.names)} reference(s) {self.names}, "
            f"median reduced chi-square {chi2:.2f}>"
        )


def fit_references(
    s,
    references,
    *,
    nonnegative=True,
    sum_to_one=False,
    signal_range=None,
    names=None,
):
    """Fit known reference spectra in every pixel (multiple linear regression).

    Each spectrum ``x`` is fitted as ``coefficients @ references`` by least
    squares, with non-negative coefficients and/or coefficients that sum to
    one if asked (:func:`eels_ae.endmembers.linear_coefficients`), on eager
    and lazy signals (lazy data are read block by block).

    Parameters
    ----------
    s : hyperspy signal
        A line scan or spectrum image of spectra (signal dimension 1).
    references : list of Signal1D, a Signal1D stack, or array
        The known spectra: single-spectrum signals (their titles name them),
        one signal with one navigation axis, or an array ``(n_references,
        channels)`` on the data's energy axis (and range). Signals on another
        energy axis are linearly interpolated onto the data's, with a
        warning; they must cover the fitted range.
    nonnegative : bool, default True
        Coefficients >= 0 (amounts of phases). False gives ordinary least
        squares, the same as HyperSpy's linear model fitting
        (``multifit(optimizer="lstsq")`` with ``ScalableFixedPattern``
        components).
    sum_to_one : bool, default False
        Coefficients that sum to one (fractions of references of the same
        total intensity). Leave it off for raw spectra whose intensity
        changes with thickness.
    signal_range : (float, float), optional
        Energy range to fit (axis units), e.g. ``(440.0, 700.0)`` to leave out
        a region the references do not describe.
    names : list of str, optional
        A name per reference (the maps' titles). By default the references'
        titles; where they share one (spectra cut from the same image),
        "reference 0", "reference 1", ...

    Returns
    -------
    ReferenceFit
        Coefficient maps, reduced chi-square map, residual and fit as signals
        with the input's calibrated axes.

    Notes
    -----
    The reduced chi-square uses a noise model fitted to the data themselves
    (``variance = gain * counts + offset``, from the second differences of
    the residual, :func:`eels_ae.fidelity.fit_noise_model`), so it needs no
    detector gain and stays near 1 where the fit is good. Energy shifts
    between the data and the references (drift) show up as a large
    chi-square with a derivative-shaped residual.

    Examples
    --------
    >>> fit = eels_ae.fit_references(s, [s_sto, s_lsmo])  # doctest: +SKIP
    >>> fit.coefficients.inav[1].plot()  # doctest: +SKIP
    >>> fit.plot()  # doctest: +SKIP
    """
    from hyperspy.signal import BaseSignal

    name = "fit_references"
    if not isinstance(s, BaseSignal):
        raise TypeError(
            f"{name} needs a HyperSpy signal of spectra, got {type(s).__name__}; "
            "for arrays use eels_ae.endmembers.linear_coefficients."
        )
    if signal_range is not None:
        lo, hi = _checked_range(signal_range)
        s = s.isig[lo:hi]
    si = signal_to_spectrum_image(s, name)
    energy = s.axes_manager.signal_axes[0]
    M, default_names, notes = _reference_matrix(references, energy)
    if names is None:
        names = default_names
    else:
        names = [str(n) for n in names]
        if len(names) != len(M):
            raise ValueError(f"names: {len(names)} name(s) for {len(M)} reference(s).")
    R, B = M.shape
    if B <= R:
        raise ValueError(
            f"{name}: {R} references need more than {R} channels to fit, but the "
            f"range has {B}; widen signal_range."
        )
    X = si.spectra()
    check_finite(X, where=si.where, block_rows=None)
    stream = RowStream(X)

    def solve(block):
        return linear_coefficients(
            block, M, nonnegative=nonnegative, sum_to_one=sum_to_one
        )

    # The noise model from a sample first, so that one pass over the data
    # (a lazy signal is read once) gives both coefficients and chi-square.
    gain, offset = _noise_model(stream, solve, M)
    coefs = np.empty((stream.n_samples, R))
    chi2 = np.empty(stream.n_samples)
    for start, block in stream.blocks():
        c = solve(block)
        fit = c @ M
        var = np.maximum(gain * np.clip(fit, 0.0, None) + offset, 1e-12)
        coefs[start : start + len(block)] = c
        chi2[start : start + len(block)] = ((block - fit) ** 2 / var).sum(axis=1)
    chi2 /= B - R
    fitted_cube = _fitted_cube(si.cube, coefs, M)
    meta = {
        "ReferenceFit.names": list(names),
        "ReferenceFit.nonnegative": bool(nonnegative),
        "ReferenceFit.sum_to_one": bool(sum_to_one),
    }
    fitted = si.like_input(fitted_cube, "fit of the references", meta)
    residual = si.like_input(
        si.cube.astype(np.float32) - fitted_cube, "residual (data - fit)", meta
    )
    ref_signal = _references_signal(M, names, energy)
    return ReferenceFit(
        coefficients=si.maps(
            coefs.T, "reference coefficients", stack_axis="reference", metadata=meta
        ),
        reduced_chi2=si.maps(chi2, "reduced chi-square", metadata=meta),
        residual=residual,
        fitted=fitted,
        references=ref_signal,
        names=list(names),
        noise=(gain, offset),
        notes=notes,
    )


def _checked_range(signal_range):
    try:
        lo, hi = (float(v) for v in signal_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"signal_range must be two energies (low, high), got {signal_range!r}."
        ) from None
    if not lo < hi:
        raise ValueError(
            f"signal_range must go from low to high, got {signal_range!r}."
        )
    return lo, hi


def _reference_matrix(references, energy):
    """References as an array on the data's axis, their names, and notes."""
    from hyperspy.signal import BaseSignal

    E = np.asarray(energy.axis, dtype=np.float64)
    if isinstance(references, BaseSignal):
        if references.axes_manager.navigation_dimension > 1:
            raise ValueError(
                "references: one signal must hold the spectra along one navigation "
                f"axis, got {references.axes_manager.navigation_dimension}."
            )
        title = str(references.metadata.General.title) or "reference"
        refs = [
            references.inav[i] for i in range(references.axes_manager.navigation_size)
        ]
        names = [f"{title} {i}" for i in range(len(refs))] or [title]
        if references.axes_manager.navigation_dimension == 0:
            refs = [references]
    elif (
        isinstance(references, (list, tuple))
        and references
        and all(isinstance(r, BaseSignal) for r in references)
    ):
        refs = list(references)
        names = [
            str(r.metadata.General.title) or f"reference {i}"
            for i, r in enumerate(refs)
        ]
    else:
        M = np.asarray(references, dtype=np.float64)
        if M.ndim == 1:
            M = M[None]
        if M.ndim != 2 or M.shape[1] != E.size:
            raise ValueError(
                f"references as an array must be (n_references, {E.size}) on the "
                f"data's energy axis (and signal_range), got shape {M.shape}."
            )
        if not np.isfinite(M).all():
            raise ValueError("references contain NaN or inf values.")
        return M, [f"reference {i}" for i in range(len(M))], []
    rows, notes = [], []
    for ref, ref_name in zip(refs, names, strict=True):
        rows.append(_on_axis(ref, ref_name, energy, notes))
    M = np.array(rows)
    if len(set(names)) < len(names):
        # Spectra cut from one image share its title: the title would not
        # tell them apart.
        names = [f"reference {i}" for i in range(len(names))]
    return M, names, notes


def _on_axis(ref, ref_name, energy, notes):
    """One reference signal as a spectrum on ``energy`` (interpolated if needed)."""
    am = ref.axes_manager
    if am.signal_dimension != 1 or am.navigation_dimension != 0:
        raise ValueError(
            f"reference {ref_name!r} must be one spectrum (signal dimension 1, no "
            f"navigation axis), got {am}."
        )
    axis = am.signal_axes[0]
    units = (str(axis.units), str(energy.units))
    if all(u and u != "<undefined>" for u in units) and units[0] != units[1]:
        raise ValueError(
            f"reference {ref_name!r} is in {units[0]} but the data are in "
            f"{units[1]}: convert one of them (axis.convert_to_units)."
        )
    data = np.asarray(ref.data, dtype=np.float64)
    if not np.isfinite(data).all():
        raise ValueError(f"reference {ref_name!r} contains NaN or inf values.")
    Er, E = np.asarray(axis.axis, dtype=np.float64), np.asarray(energy.axis)
    if Er.size == E.size and np.allclose(Er, E, atol=1e-6 * abs(energy.scale)):
        return data
    if Er[0] > Er[-1]:
        Er, data = Er[::-1], data[::-1]
    half = abs(float(axis.scale)) / 2 if axis.is_uniform else 0.0
    if Er[0] - half > E.min() or Er[-1] + half < E.max():
        raise ValueError(
            f"reference {ref_name!r} covers {Er[0]:g} to {Er[-1]:g} {units[0]} but "
            f"the data span {E.min():g} to {E.max():g} {units[1]}: fit where both "
            f"are known, e.g. signal_range=({max(Er[0], E.min()):g}, "
            f"{min(Er[-1], E.max()):g})."
        )
    values = np.interp(E, Er, data)
    note = (
        f"reference {ref_name!r} is on another energy axis ({Er[0]:g} to "
        f"{Er[-1]:g}, {Er.size} channels): linearly interpolated onto the data's "
        f"({E.min():g} to {E.max():g}, {E.size} channels)"
    )
    ratio = abs(float(energy.scale)) / abs(float(axis.scale)) if axis.is_uniform else 1
    if axis.is_binned and not np.isclose(ratio, 1.0):
        # Counts per channel grow with the channel width: per data channel.
        values = values * ratio
        note += f", and its counts per channel scaled by {ratio:g} (binned axis)"
    warn(note + ".")
    notes.append(note + ".")
    return values


def _noise_model(stream, solve, M):
    """``(gain, offset)`` of the data's noise, from the residuals of a sample
    of spectra fitted with ``solve``."""
    _, rows = stream.sample_rows(NOISE_SAMPLES, np.random.default_rng(0))
    fit = solve(rows) @ M
    try:
        return fit_noise_model(rows - fit, fit)
    except ValueError:
        # Too few channels for second differences 3 apart: the residual's own
        # mean square (chi-square then averages 1 over the image).
        var = float(np.mean((rows - fit) ** 2)) or 1.0
        return 0.0, var


def _fitted_cube(cube, coefs, M):
    """``coefs @ M`` shaped like the cube; a dask array for dask input."""
    R = M.shape[0]
    lead = cube.shape[:-1]
    if not is_dask_array(cube):
        return (coefs @ M).astype(np.float32).reshape(lead + (M.shape[1],))
    import dask.array as da

    data = cube.rechunk({cube.ndim - 1: -1})
    c = da.from_array(coefs.reshape(lead + (R,)), chunks=data.chunks[:-1] + ((R,),))
    return da.map_blocks(
        lambda block: (block @ M).astype(np.float32),
        c,
        dtype=np.float32,
        chunks=data.chunks,
    )


def _references_signal(M, names, energy):
    import hyperspy.api as hs

    axis = energy.get_axis_dictionary()
    axis["navigate"] = False
    out = hs.signals.Signal1D(
        M, axes=[{"name": "reference", "size": len(M), "navigate": True}, axis]
    )
    out.metadata.General.title = "references (as fitted)"
    out.metadata.set_item("ReferenceFit.names", list(names))
    return out
