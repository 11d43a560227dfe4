"""DAEU: deep autoencoder unmixing (Palsson et al. 2018) as an estimator."""

from __future__ import annotations

import numpy as np
import torch

from ..endmembers import fcls, signal_subspace_endmembers
from ..models import DAEUNet
from ..streaming import RowStream
from ..training import predict_in_batches
from ..validation import Either, Interval, IntSequence, Options, warn
from .base import INTENSITY_DOC, UnmixingEstimator
from .neural import TRAINING_PARAMS_DOC, NeuralEstimator, TrainingData

__all__ = ["DAEU"]


class DAEU(NeuralEstimator, UnmixingEstimator):
    __doc__ = """Deep autoencoder unmixing (DAEU, Palsson et al. 2018).

    Palsson, Sigurdsson, Sveinsson and Ulfarsson, "Hyperspectral unmixing
    using a neural network autoencoder" (2018) [Palsson2018]_, as compared
    on EELS by Brun et al. (2024) [Brun2024]_.

    The encoder (Dense 9R-6R-3R-R, batch norm, learned soft threshold,
    abundance sum-to-one, Gaussian dropout) maps each spectrum to its
    abundances; the single non-negative linear decoder holds the endmembers.
    Training minimises the mean per-spectrum spectral angle between the
    spectra and their reconstructions, so the result does not depend on the
    intensity of each spectrum.

    Unlike the published reference code, the decoder starts from VCA
    endmembers (``init="vca"``) and ``n_init`` restarts keep the lowest loss:
    a random start makes the result depend strongly on the seed.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    init : {"vca", "random"}, default "vca"
        Decoder initialisation. With ``"random"`` a batch holds at most a
        quarter of the spectra (four steps per epoch or more): from a random
        start one step per epoch left the endmembers 35-38 degrees from the
        truth on a 32 x 32 synthetic image, four steps 4-10 degrees.
    n_init : int, default 1
        Independent trainings (different seeds); the lowest loss wins.
    hidden_factors : tuple of int, default (9, 6, 3)
        Hidden layer widths in multiples of ``n_components``.
    dropout : float, default 0.1
        Gaussian dropout rate on the abundances during training.
    warmup_epochs : int, default 15
        With ``init="vca"``: epochs that train the encoder alone, with the
        decoder frozen at the VCA endmembers, before both train together.
        Without it, the random encoder drags the good VCA start away in the
        first epochs.
    decoder_lr_factor : float or None, default None
        Learning rate of the decoder (endmembers) relative to the encoder's.
        None: 0.1 with ``init="vca"`` (the decoder refines a good start) and
        1.0 with ``init="random"`` (it must find the endmembers: at 0.1 they
        barely leave their random start, 45-60 degrees from the truth on the
        synthetic sets; ``benchmarks/daeu_restarts.py``).
    abundances : {"fcls", "encoder"}, default "fcls"
        How ``transform`` computes abundances: fully constrained least
        squares with the learned endmembers, or the encoder's output as in the
        original DAEU. Both are >= 0 and sum to one; on the synthetic
        benchmark FCLS gives several times lower abundance error (NMSE) than
        the encoder, for the same endmembers (see Notes).
{INTENSITY_DOC}{TRAINING_PARAMS_DOC}    max_init_samples : int, default 50000
        Spectra drawn for the VCA initialisation (all if fewer).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Endmembers in the units of the data (scaled so that
        ``transform(X) @ components_`` fits ``X`` in least squares).
    model_ : eels_ae.models.DAEUNet
        The trained network (on ``device_``).
    device_ : torch.device
    loss_curve_ : list of float
        Training loss (mean spectral angle, radians) per epoch, best restart.
    n_epochs_ : int
    best_loss_ : float
    init_losses_ : list of float
        Best loss of each restart.
    scale_ : float
        Input scaling (the largest absolute value of the training data).
    n_features_in_ : int

    Notes
    -----
    Default choices, measured on the synthetic chequerboard sets of
    :mod:`eels_ae.data` (see ``benchmarks/unmixing.py``):

    - the decoder starts at VCA endmembers (projected on the signal
      subspace), the encoder first learns alone (``warmup_epochs``), then the
      decoder follows at a tenth of the learning rate: this keeps the good
      start and lowered the mean endmember error and its spread over seeds;
    - Adam with ``learning_rate=6e-3`` and batches of 1024 converge in a few
      tens of epochs; early stopping (``tol``) ends most runs sooner. Over
      three seeds on the 3 x 200 set, batches of 1024 gave a lower mean
      endmember error than 256 (1.9 vs 2.2 degrees), a much smaller spread
      over seeds (worst / best seed 1.1 vs 2.7) and 30 % less time; 2048 and
      more were worse;
    - the loss is the mean per-spectrum spectral angle, blind to the
      per-component scale of the endmembers, so after training the
      endmembers are put back in data units by one least-squares factor;
    - the encoder's abundances are noisier than a constrained least-squares
      solve with the same endmembers, hence ``abundances="fcls"``; the
      encoder stays available (``abundances="encoder"``).
    """.replace("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC).replace(
        "{INTENSITY_DOC}", INTENSITY_DOC
    )

    _model_params = {
        "n_components": None,
        "init": "vca",
        "n_init": 1,
        "hidden_factors": (9, 6, 3),
        "dropout": 0.1,
        "warmup_epochs": 15,
        "decoder_lr_factor": None,
        "abundances": "fcls",
        "max_init_samples": 50000,
        "intensity": "fixed",
    }
    _training_defaults = {
        "max_epochs": 40,
        "batch_size": 1024,
        "learning_rate": 6e-3,
    }
    _positional = ("n_components",)
    _constraints = {
        "init": Options(("vca", "random")),
        "n_init": Interval("int", 1),
        "hidden_factors": IntSequence(),
        "dropout": Interval("real", 0, 1, closed="left"),
        "warmup_epochs": Interval("int", 0),
        "decoder_lr_factor": Either((Options((None,)), Interval("real", 0))),
        "abundances": Options(("fcls", "encoder")),
        "max_init_samples": Interval("int", 1),
        "intensity": Options(("per_pixel", "fixed")),
    }
    _progress_label = "DAEU"
    _fit_input_doc = """\
X : array-like or dask array, shape (n_samples, n_features)
    One spectrum per row. A dask array is streamed block by block and never
    loaded whole.
"""

    def _prepare(self, X, energy_axis=None):
        X, summary = self._check_fit_input(X)
        self._warn_if_too_few_components(X, summary)
        negative = summary.n_negative / max(summary.n_samples * summary.n_features, 1)
        if negative > 0.5:
            warn(
                f"{negative:.0%} of the values are negative (an over-subtracted "
                "background?): DAEU's endmembers are non-negative spectra, so it "
                "cannot represent these data and its result will be poor. Unmix the "
                "raw counts, or subtract a background that leaves the data positive."
            )
        self.n_features_in_ = summary.n_features
        self.energy_axis_ = energy_axis
        self.scale_ = summary.max_abs
        mask = ~summary.zero_rows if summary.zero_rows.any() else None
        stream = RowStream(
            X, block_rows=self._block_rows, scale=self.scale_, row_mask=mask
        )
        usable = summary.n_samples - int(summary.zero_rows.sum())
        return TrainingData(stream, usable, {"summary": summary, "mask": mask})

    def _n_restarts(self):
        return int(self.n_init)

    def _training_setup(self, n_samples):
        batch_size, device = super()._training_setup(n_samples)
        if self.init == "random":
            batch_size = max(2, min(batch_size, n_samples // 4))
        return batch_size, device

    def _build(self, data, rng):
        net = DAEUNet(
            data.extra["summary"].n_features,
            self.n_components,
            hidden_factors=tuple(self.hidden_factors),
            dropout=self.dropout,
        )
        factor = self.decoder_lr_factor
        if factor is None:
            factor = 0.1 if self.init == "vca" else 1.0
        net.decoder_lr_factor = float(factor)
        if self.init == "vca":
            net.set_endmembers(self._vca_start(data.stream, data.extra["summary"], rng))
        return net

    def _warm_up(self, module, run, desc):
        if self.init != "vca" or not self.warmup_epochs:
            return None
        # Encoder alone first: the decoder keeps the VCA start.
        module.decoder.weight.requires_grad_(False)
        try:
            return run(
                desc=desc + " (encoder)", max_epochs=self.warmup_epochs, tol=None
            )
        finally:
            module.decoder.weight.requires_grad_(True)

    def _finish(self, data):
        endmembers = self.model_.endmembers.detach().cpu().numpy().astype(np.float64)
        factor = self._intensity_factor(data.stream, data.extra["mask"])
        self.components_ = endmembers * self.scale_ * factor

    def _vca_start(self, stream, summary, rng):
        n = self._init_sample_size(summary.n_features)
        idx, rows = stream.sample_rows(n, rng)
        rows = rows[~summary.zero_rows[idx]]
        endmembers, _ = signal_subspace_endmembers(
            rows, self.n_components, random_state=rng
        )
        return np.clip(endmembers, 0.0, None)

    def _encode(self, x):
        return self.model_.abundances(x)

    def _abundances(self, stream):
        if self.abundances == "fcls":
            return stream.map_blocks(lambda block: fcls(block, self.components_))
        self.model_.eval()
        return predict_in_batches(self._encode, stream, self.device_)

    def _intensity_factor(self, stream, mask, rows=4096):
        """Least-squares factor c in x ~ c * (a @ M) over all spectra (scaled).

        Uses x.(a M) = a.(M x) and |a M|^2 = a G a with G = M M^T, so no
        reconstruction of block size is ever formed.
        """
        num = den = 0.0
        M = self.model_.endmembers.detach()
        G = M @ M.T
        self.model_.eval()
        with torch.no_grad():
            for start, block in stream.blocks():
                if mask is not None:
                    block = block[mask[start : start + len(block)]]
                for lo in range(0, len(block), rows):
                    x = torch.from_numpy(block[lo : lo + rows]).to(self.device_)
                    x = x / stream.scale
                    a = self._encode(x)
                    num += float((a * (x @ M.T)).sum())
                    den += float(((a @ G) * a).sum())
        return num / den if den > 0 else 1.0
