"""One registry of eels_ae's algorithms.

Each entry says what an algorithm is (its name, estimator class and kind), how
its input is taken from a signal, and which signal method (if any) runs it.
The ``decomposition`` names (:data:`eels_ae.ALGORITHMS`) are derived from it,
and so are the model classes a model file may name; the command line and GUI
read it too. No HyperSpy here: the HyperSpy layer turns the ``input`` and
``kind`` of an entry into signal handling.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "KINDS",
    "INPUTS",
    "Algorithm",
    "REGISTRY",
    "by_kind",
    "for_estimator",
    "get",
    "register",
    "trainable",
]

#: What an algorithm does: its result lands in ``learning_results``
#: (unmixing), comes back as result signals (representation, denoising), or
#: labels pixels (classifier).
KINDS = ("unmixing", "representation", "denoising", "classifier")
#: How the input is taken from a signal: unfolded spectra ``(n_pixels,
#: n_channels)``; the image ``(rows, columns, channels)`` (spatial
#: algorithms that need each pixel's neighbours); abundance maps of a
#: decomposition ``(rows, columns, components)``; or latent codes of another
#: model.
INPUTS = ("spectra", "image", "maps", "latent")


@dataclass(frozen=True)
class Algorithm:
    """One registry entry.

    Attributes
    ----------
    name : str
        Lower-case name (``s.decomposition(algorithm=name)`` for unmixing).
    estimator : type
        The scikit-learn estimator class.
    kind : str
        One of :data:`KINDS`.
    input : str
        One of :data:`INPUTS`.
    method : str or None
        Name of the signal method that runs it (``s.<method>(...)``), if any;
        the HyperSpy layer generates the method and its docstring.
    summary : str
        One line for listings (CLI, GUI, docs, the method's docstring).
    result : str or None
        How its output comes back as HyperSpy objects: a name the HyperSpy
        layer knows (``"learning_results"`` for unmixing, ``"VAEResult"``,
        ``"RVAEResult"``, ``"denoised"``, ``"class_map"``).
    """

    name: str
    estimator: type
    kind: str
    input: str
    method: str | None = None
    summary: str = ""
    result: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {KINDS}.")
        if self.input not in INPUTS:
            raise ValueError(f"input={self.input!r} is not one of {INPUTS}.")


#: name -> :class:`Algorithm`.
REGISTRY: dict[str, Algorithm] = {}


def register(entry: Algorithm) -> Algorithm:
    """Add (or replace) an entry; returns it."""
    REGISTRY[entry.name.lower()] = entry
    return entry


def get(name: str) -> Algorithm:
    """The entry of ``name`` (any case); a clear error lists the known ones."""
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise KeyError(
            f"{name!r} is not an eels_ae algorithm; known: {', '.join(REGISTRY)}."
        ) from None


def for_estimator(estimator) -> Algorithm:
    """The entry of an estimator (object or class); the most specific class
    wins. An ensemble (:class:`~eels_ae.EnsembleUnmixing`) has the entry of
    the estimator it repeats."""
    from .estimators import EnsembleUnmixing

    if isinstance(estimator, EnsembleUnmixing):
        return for_estimator(estimator.estimator)
    cls = estimator if isinstance(estimator, type) else type(estimator)
    for klass in cls.__mro__:
        for entry in REGISTRY.values():
            if entry.estimator is klass:
                return entry
    raise TypeError(f"{cls.__name__} is not an eels_ae model.")


def by_kind(kind: str) -> dict[str, Algorithm]:
    """Entries of one kind, by name."""
    return {n: a for n, a in REGISTRY.items() if a.kind == kind}


def trainable() -> dict[str, Algorithm]:
    """Entries trained on a spectrum image alone (not on another model's maps
    or latent codes): what the command line and the training panel offer."""
    return {n: a for n, a in REGISTRY.items() if a.input in ("spectra", "image")}


def _builtin():
    from .estimators import (
        CNNAEU,
        DAEU,
        MTAEU,
        NFINDR,
        RVAE,
        UDAS,
        VAE,
        VAEU,
        VCA,
        DenoisingAE,
        DriftAwareUnmixing,
        LatentClassifier,
    )

    for entry in (
        Algorithm(
            "daeu",
            DAEU,
            "unmixing",
            "spectra",
            None,
            "deep autoencoder unmixing (Palsson et al. 2018)",
            "learning_results",
        ),
        Algorithm(
            "mtaeu",
            MTAEU,
            "unmixing",
            "image",
            None,
            "spectral-spatial multitask autoencoder unmixing (Palsson et al. 2019)",
            "learning_results",
        ),
        Algorithm(
            "cnnaeu",
            CNNAEU,
            "unmixing",
            "image",
            None,
            "convolutional autoencoder unmixing on patches (Palsson et al. 2021)",
            "learning_results",
        ),
        Algorithm(
            "udas",
            UDAS,
            "unmixing",
            "spectra",
            None,
            "untied denoising autoencoder with sparsity (Qu & Qi 2018)",
            "learning_results",
        ),
        Algorithm(
            "vaeu",
            VAEU,
            "unmixing",
            "spectra",
            None,
            "variational unmixing with endmember variability (PGMSU-like)",
            "learning_results",
        ),
        Algorithm(
            "vca",
            VCA,
            "unmixing",
            "spectra",
            None,
            "vertex component analysis + FCLS (Nascimento & Bioucas-Dias 2005)",
            "learning_results",
        ),
        Algorithm(
            "nfindr",
            NFINDR,
            "unmixing",
            "spectra",
            None,
            "N-FINDR (largest simplex volume, Winter 1999) + FCLS",
            "learning_results",
        ),
        Algorithm(
            "drift_aware",
            DriftAwareUnmixing,
            "unmixing",
            "image",
            None,
            "unmixing with a per-pixel energy shift estimated jointly (drift)",
            "learning_results",
        ),
        Algorithm(
            "vae",
            VAE,
            "representation",
            "spectra",
            "vae",
            "variational autoencoder over spectra (Roccapriore et al. 2024)",
            "VAEResult",
        ),
        Algorithm(
            "rvae",
            RVAE,
            "representation",
            "maps",
            "rvae",
            "multichannel rotationally invariant VAE on windows of abundance maps "
            "(Roccapriore et al. 2024)",
            "RVAEResult",
        ),
        Algorithm(
            "denoise_ae",
            DenoisingAE,
            "denoising",
            "image",
            "denoise_ae",
            "convolutional denoising autoencoder (RapidEELS, Pate et al. 2021)",
            "denoised",
        ),
        Algorithm(
            "latent_classifier",
            LatentClassifier,
            "classifier",
            "latent",
            None,
            "classifier on a denoising autoencoder's latent space (RapidEELS)",
            "class_map",
        ),
    ):
        register(entry)


_builtin()
