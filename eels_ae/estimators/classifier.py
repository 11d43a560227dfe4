"""Classification of spectra from a trained autoencoder's latent space (RapidEELS)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..model_files import ModelFileMixin
from ..spectrum_image import as_spectrum_image
from ..validation import Interval, SeedLike
from .declared import DeclaredParamsMixin

__all__ = ["LatentClassifier"]


class LatentClassifier(
    DeclaredParamsMixin, ModelFileMixin, ClassifierMixin, BaseEstimator
):
    __doc__ = """A classifier on the frozen latent space of a :class:`DenoisingAE`.

    As in RapidEELS (Pate et al. 2021) [Pate2021]_: the trained encoder turns
    each spectrum into ``latent_dim`` numbers, and a softmax layer on them learns the
    classes, e.g. oxidation states, from labelled spectrum images. The autoencoder is
    not changed. A softmax layer on fixed features is a multinomial logistic
    regression, so scikit-learn fits it (on standardised codes): no learning
    rate or epochs to tune.

    Parameters
    ----------
    denoiser : DenoisingAE
        A fitted autoencoder; its encoder gives the features.
    hidden_units : int, default 0
        Width of one hidden ReLU layer (scikit-learn's ``MLPClassifier``);
        0 is the softmax layer of RapidEELS (``LogisticRegression``).
    C : float, default 1.0
        Inverse regularisation strength (``hidden_units=0``; ``alpha = 1 / C`` for
        the hidden layer).
    random_state : int, RandomState instance or None

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted.
    pipeline_ : sklearn.pipeline.Pipeline
        Standardisation and the classifier, fitted on the latent codes.
    """

    _model_params = {
        "denoiser": None,
        "hidden_units": 0,
        "C": 1.0,
        "random_state": None,
    }
    _positional = ("denoiser",)
    _renamed = {"hidden": "hidden_units"}
    _constraints = {
        "hidden_units": Interval("int", 0),
        "C": Interval("real", 0, closed="neither"),
        "random_state": SeedLike(),
    }

    # -- helpers -------------------------------------------------------------
    def _codes(self, X):
        """Latent codes ``(pixels, latent_dim)`` and the input's description."""
        if self.denoiser is None or not hasattr(self.denoiser, "model_"):
            raise ValueError(
                "LatentClassifier needs a fitted DenoisingAE: train one first "
                "(s.denoise_ae(return_model=True) or DenoisingAE().fit(s))."
            )
        si = as_spectrum_image(X, "LatentClassifier")
        return self.denoiser.transform(X), si

    @staticmethod
    def _as_list(signals):
        return list(signals) if isinstance(signals, (list, tuple)) else [signals]

    def _pixel_labels(self, labels, signals, sizes, shapes):
        labels = (
            self._as_list(labels) if isinstance(labels, (list, tuple)) else [labels]
        )
        if len(labels) != len(signals):
            raise ValueError(
                f"got {len(signals)} signal(s) but {len(labels)} label(s): give one "
                "label per signal (or one label map per signal)."
            )
        out = []
        for i, (lab, n, shape) in enumerate(zip(labels, sizes, shapes, strict=True)):
            lab = np.asarray(lab)
            if lab.ndim == 0:
                out.append(np.full(n, lab.item(), dtype=object))
            elif lab.size == n:
                out.append(lab.reshape(-1).astype(object))
            else:
                raise ValueError(
                    f"label {i} has shape {lab.shape}, but signal {i} has {n} pixels "
                    f"(navigation shape {shape}): give one label, or a map with one "
                    "label per pixel."
                )
        return np.concatenate(out)

    # -- scikit-learn API ----------------------------------------------------
    def fit(self, signals, labels):
        """Learn the classes from labelled signals.

        Parameters
        ----------
        signals : signal or array, or a list of them
            Spectrum images with the autoencoder's energy axis.
        labels : label or label map, or a list of them (one per signal)
            A single label (int or str) gives every pixel of its signal that
            class; an array with the navigation shape labels pixel by pixel.

        Returns
        -------
        self
        """
        self._check_parameters()
        signals = self._as_list(signals)
        codes, sizes, shapes = [], [], []
        for s in signals:
            z, si = self._codes(s)
            codes.append(z)
            sizes.append(len(z))
            shapes.append(si.shape[:-1])
        Z = np.concatenate(codes).astype(np.float32)
        y = self._pixel_labels(labels, signals, sizes, shapes)
        try:
            self.classes_, y_idx = np.unique(y, return_inverse=True)
        except TypeError:
            raise ValueError(
                "labels mix types (e.g. int and str): use one type."
            ) from None
        if len(self.classes_) < 2:
            raise ValueError(
                f"all spectra have the label {self.classes_[0]!r}: a classifier needs "
                "at least two classes."
            )
        if int(self.hidden_units) > 0:
            head = MLPClassifier(
                hidden_layer_sizes=(int(self.hidden_units),),
                alpha=1.0 / float(self.C),
                max_iter=500,
                random_state=self.random_state,
            )
        else:
            head = LogisticRegression(C=float(self.C), max_iter=1000)
        self.pipeline_ = make_pipeline(StandardScaler(), head).fit(Z, y_idx)
        return self

    def _proba(self, X):
        check_is_fitted(self, "pipeline_")
        Z, si = self._codes(X)
        return self.pipeline_.predict_proba(Z), si

    def predict_proba(self, X):
        """Class probabilities of every pixel.

        Returns
        -------
        Signal2D or ndarray
            For a signal: a stack of probability maps (navigation axis
            ``"class"``, one image per class in ``classes_`` order) on the
            signal's calibrated navigation grid. For an array: shape
            ``(n_classes, *navigation_shape)``.
        """
        p, si = self._proba(X)
        return si.maps(p.T, "Class probabilities", stack_axis="class")

    def predict(self, X):
        """Class map: the most probable class of every pixel.

        Returns
        -------
        Signal2D or ndarray
            Labels from ``classes_`` on the navigation grid (a signal for a
            signal input: class indices, with ``classes_`` in its metadata).
        """
        p, si = self._proba(X)
        idx = p.argmax(axis=1)
        if not si.is_signal:
            return si.maps(self.classes_[idx], "Class map")
        classes = [str(c) for c in self.classes_]
        return si.maps(idx, "Class map", metadata={"Classification.classes": classes})

    def score(self, signals, labels):
        """Accuracy over all pixels of labelled signals (same labels as :meth:`fit`)."""
        signals = self._as_list(signals)
        preds, sizes, shapes = [], [], []
        for s in signals:
            p, si = self._proba(s)
            preds.append(self.classes_[p.argmax(axis=1)])
            sizes.append(len(p))
            shapes.append(si.shape[:-1])
        y = self._pixel_labels(labels, signals, sizes, shapes)
        return float(np.mean(np.concatenate(preds) == y))
