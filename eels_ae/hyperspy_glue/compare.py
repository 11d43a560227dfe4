"""``eels_ae.compare``: run the unmixing names on a signal and say which
result to trust, with the evidence (no ground truth needed)."""

from __future__ import annotations

import html

import numpy as np

from .. import registry
from ..metrics import match_components
from ..model_selection import score_candidates
from ..training.progress import progress_bar
from .background import channels_left_out, signal_without_background
from .compat import (
    copy_with_new_data,
    is_lazy,
    spectrum_image_array,
    unfolded_spectra,
)
from .decomposition import make_estimator

__all__ = ["Comparison", "compare"]

#: Fewest spectra compare scores: the paired comparison of two candidates
#: is over the spectra, and each fit needs many more spectra than endmembers.
MIN_SPECTRA = 20


def _candidates(signal, n_components, algorithms):
    """Name -> unfitted estimator: ``algorithms``, or every unmixing name
    (the spatial ones only on images)."""
    entries = registry.by_kind("unmixing")
    image = len(signal.axes_manager.navigation_shape) == 2
    if algorithms is None:
        names = [n for n, e in entries.items() if e.input != "image" or image]
    else:
        names = [str(a).lower() for a in algorithms]
        unknown = [n for n in names if n not in entries]
        if unknown:
            raise ValueError(
                f"compare: {', '.join(map(repr, unknown))} not eels_ae unmixing "
                f"names; known: {', '.join(entries)}."
            )
        flat = [n for n in names if entries[n].input == "image" and not image]
        if flat:
            raise ValueError(
                f"compare: {', '.join(flat)} need an image (two navigation axes); "
                "this signal has "
                f"{len(signal.axes_manager.navigation_shape)}."
            )
    # Progress bars off (one bar over every fit); names without them
    # ignore the option.
    return {
        name: make_estimator(name, n_components, {"show_progressbar": False})
        for name in names
    }


def compare(
    signal,
    n_components,
    algorithms=None,
    seeds=2,
    random_state=0,
    background_range=None,
    signal_mask=None,
    show_progressbar=None,
):
    """Run the unmixing candidates on ``signal`` and pick the one to trust.

    The counts of every pixel are split in two independent halves
    (:mod:`eels_ae.model_selection`); each candidate is fitted on one half
    and scored on how well it predicts the other, which it never saw (the
    Poisson deviance per value; for data that are not counts, the squared
    error in units of the measured noise). The lowest score wins: noise
    cannot be fitted into it. Fits with other seeds give each candidate's
    stability. The pick, its reason and every score are in the returned
    :class:`Comparison`.

    Parameters
    ----------
    signal : hyperspy.signals.Signal1D
        A spectrum image or line scan (a lazy one is loaded). Counts as
        recorded, or background-subtracted spectra.
    n_components : int
        Endmembers to unmix.
    algorithms : list of str, optional
        Names to compare (default: every unmixing name, the spatial ones
        only on images).
    seeds : int, default 2
        Fits per candidate: the first is scored, the spread of the others
        gives the stability (seeds ``random_state, random_state + 1, ...``).
    random_state : int, default 0
        Seeds the split and the fits.
    background_range : (float, float), optional
        Pre-edge window of a power-law background, as in
        ``s.decomposition(..., background_range=...)``: each half of the
        counts has its background fitted there and removed before the
        candidates are fitted; the channels up to the window's end are left
        out. Give it on core-loss data: otherwise the background dominates
        every candidate's endmembers and the score.
    signal_mask : ndarray of bool, optional
        Channels left out (True), HyperSpy's convention; scored and unmixed
        only on the others.
    show_progressbar : bool or None
        One bar over every fit.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> report = eels_ae.compare(s, n_components=3)  # doctest: +SKIP
    >>> report.recommended, report.reason  # doctest: +SKIP
    >>> report.apply(s)  # stores the pick's result in s.learning_results
    """
    if signal.axes_manager.signal_dimension != 1:
        raise ValueError("compare needs spectra (a signal of dimension 1).")
    n_spectra = int(np.prod(signal.axes_manager.navigation_shape, dtype=np.int64))
    if n_spectra < MIN_SPECTRA:
        raise ValueError(
            f"compare: this signal has {n_spectra} spectra; the held-out score "
            f"and its noise need at least {MIN_SPECTRA} (a spectrum image or "
            "line scan)."
        )
    candidates = _candidates(signal, int(n_components), algorithms)
    if is_lazy(signal):
        # Every fit reads the whole image; the user's signal stays lazy.
        signal = signal.deepcopy()
        signal.compute(show_progressbar=False)
    image = len(signal.axes_manager.navigation_shape) == 2
    X = np.asarray(spectrum_image_array(signal) if image else unfolded_spectra(signal))
    keep = _kept_channels(signal, signal_mask)
    background = None
    if background_range is not None:
        background_range = tuple(float(v) for v in background_range)
        keep &= ~channels_left_out(
            signal.axes_manager.signal_axes[0].axis, background_range
        )

        def background(half):
            # Fitted on the half itself: the held-out half's background
            # never sees the training half.
            counts = copy_with_new_data(
                signal, half.reshape(signal.data.shape).astype(np.float32)
            )
            work = signal_without_background(counts, background_range)[0]
            return half - np.asarray(work.data, dtype=np.float64).reshape(half.shape)

    if keep.sum() < 2:
        raise ValueError(
            f"compare: {int(keep.sum())} channel(s) left to unmix after "
            "signal_mask and background_range."
        )
    seed_list = [int(random_state) + k for k in range(max(int(seeds), 1))]
    with progress_bar(
        len(candidates) * len(seed_list), "compare", show_progressbar
    ) as bar:
        scores = score_candidates(
            X,
            candidates,
            seeds=seed_list,
            random_state=random_state,
            image=lambda est: registry.for_estimator(est).input == "image",
            progress=bar,
            channels=keep,
            background=background,
        )
    axis = signal.axes_manager.signal_axes[0]
    options = {"background_range": background_range, "signal_mask": signal_mask}
    return Comparison(
        scores,
        int(n_components),
        int(random_state),
        np.asarray(axis.axis)[keep],
        {k: v for k, v in options.items() if v is not None},
    )


def _kept_channels(signal, signal_mask):
    size = signal.axes_manager.signal_size
    if signal_mask is None:
        return np.ones(size, bool)
    mask = np.asarray(signal_mask, dtype=bool).ravel()
    if mask.size != size:
        raise ValueError(
            f"compare: signal_mask has {mask.size} values; the signal has "
            f"{size} channels."
        )
    return ~mask


class Comparison:
    """What :func:`compare` found.

    Attributes
    ----------
    recommended : str
        The name to use.
    reason : str
        Why, in words.
    scores : list of eels_ae.model_selection.CandidateScore
        Every candidate's evidence, best first.
    table : ScoreTable
        The scores as a table (text, and HTML in Jupyter).
    """

    def __init__(self, scores, n_components, random_state, energy, options=None):
        # The preprocessing of the comparison, repeated by apply().
        self.options = dict(options or {})
        self.scores = sorted(scores, key=lambda c: c.heldout)
        self.n_components = n_components
        self.random_state = random_state
        self._energy = np.asarray(energy)
        usable = [c for c in self.scores if np.isfinite(c.heldout)]
        if not usable:
            raise ValueError(
                "compare: no candidate could be fitted: "
                + "; ".join(f"{c.name}: {c.error}" for c in self.scores)
            )
        best = usable[0]
        self.recommended = best.name
        self._tied = [c.name for c in usable[1:] if _within_noise(best, c)]
        self.reason = self._reason(best, usable)
        self.table = ScoreTable(self)

    def _reason(self, best, usable):
        others = [c.heldout for c in usable[1:]]
        text = (
            f"{best.name} predicts the held-out half of the counts best (score "
            f"{best.heldout:.4f}"
            + (f", the others {min(others):.4f}-{max(others):.4f})" if others else ")")
            + ": its endmembers and abundances describe the sample, not its noise."
        )
        if self._tied:
            text += (
                f" A close call: {', '.join(self._tied)} "
                f"{'is' if len(self._tied) == 1 else 'are'} within the noise of "
                "it; compare their endmembers (plot())."
            )
        if np.isfinite(best.seed_angle) and best.seed_angle > 10:
            text += (
                f" Its fits with other seeds differ by {best.seed_angle:.0f} "
                "degrees: the result depends on the seed; check it with "
                "ensemble=5."
            )
        failed = [c.name for c in self.scores if not np.isfinite(c.heldout)]
        if failed:
            text += f" Could not be fitted: {', '.join(failed)}."
        return text + (
            " The score cannot tell apart endmembers that span the same spectra "
            "(on 28 test scenes the pick was within 1.2x of the best name's "
            "endmember error on 17): compare the candidates' endmembers with "
            "the raw spectra (plot()) before using the pick."
        )

    def apply(self, signal, **params):
        """Unmix ``signal`` with the recommended name (the whole counts, the
        seed of the comparison, its ``background_range`` and
        ``signal_mask``): a normal ``s.decomposition`` result in
        ``signal.learning_results``."""
        signal.decomposition(
            algorithm=self.recommended,
            output_dimension=self.n_components,
            **{
                "random_state": self.random_state,
                "print_info": False,
                **self.options,
                **params,
            },
        )
        return signal

    def plot(self):
        """One figure: every candidate's endmembers (matched to the
        recommended one's), the held-out scores and the seed stability.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        usable = [c for c in self.scores if np.isfinite(c.heldout)]
        best = usable[0]
        fig, axes = plt.subplots(
            2, 2, figsize=(11, 7), gridspec_kw={"height_ratios": [2, 1]}
        )
        gs = axes[0, 0].get_gridspec()
        axes[0, 0].remove()
        axes[0, 1].remove()
        ax = fig.add_subplot(gs[0, :])
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, c in enumerate(usable):
            M = c.components[match_components(best.components, c.components)]
            for i, m in enumerate(M):
                ax.plot(
                    self._energy,
                    m + i * np.nanmax(best.components) * 1.1,
                    color=colours[k % len(colours)],
                    lw=2.0 if c is best else 0.9,
                    label=c.name if i == 0 else None,
                )
        ax.set_xlabel("energy")
        ax.set_ylabel("endmembers (offset)")
        ax.set_title(f"endmembers of every candidate; recommended: {best.name}")
        ax.legend(fontsize=8)
        names = [c.name for c in usable]
        axes[1, 0].bar(names, [c.heldout - best.heldout for c in usable])
        axes[1, 0].set_ylabel("held-out score above the best")
        axes[1, 1].bar(names, [np.nan_to_num(c.seed_angle) for c in usable])
        axes[1, 1].set_ylabel("seed-to-seed angle (deg)")
        for a in axes[1]:
            a.tick_params(axis="x", labelrotation=45, labelsize=8)
        fig.tight_layout()
        return fig

    def __repr__(self):
        return f"<Comparison: recommended {self.recommended!r}>\n{self.table}"


def _within_noise(best, other):
    """Whether ``other``'s held-out score is within 2 standard errors of the
    best's (a paired comparison over the spectra)."""
    d = other.heldout_rows - best.heldout_rows
    d = d[np.isfinite(d)]
    if d.size < 2:
        return False
    return d.mean() < 2 * d.std(ddof=1) / np.sqrt(d.size)


class ScoreTable:
    """The scores of a :class:`Comparison`, best first (text or HTML)."""

    columns = (
        "name",
        "held-out score",
        "seed angle (deg)",
        "map coherence",
        "seconds",
        "note",
    )

    def __init__(self, comparison):
        self.rows = [
            (
                c.name,
                f"{c.heldout:.4f}" if np.isfinite(c.heldout) else "failed",
                "" if not np.isfinite(c.seed_angle) else f"{c.seed_angle:.1f}",
                "" if not np.isfinite(c.coherence) else f"{c.coherence:.2f}",
                f"{c.seconds:.1f}",
                "recommended"
                if c.name == comparison.recommended
                else (
                    "within the noise"
                    if c.name in comparison._tied
                    else (c.error[:60] if c.error else "")
                ),
            )
            for c in comparison.scores
        ]

    def __str__(self):
        widths = [
            max(len(str(r[i])) for r in (self.columns, *self.rows))
            for i in range(len(self.columns))
        ]
        lines = [
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
            for row in (self.columns, *self.rows)
        ]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
            for r in self.rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"
