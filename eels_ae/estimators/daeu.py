"""DAEU: deep autoencoder unmixing (Palsson et al. 2018) as an estimator."""

from __future__ import annotations

from ..models import DAEUNet
from ..training import predict_in_batches
from ..validation import Interval, IntSequence, Options
from .autoencoder import LOSS_DOC, AutoencoderUnmixing
from .base import INTENSITY_DOC
from .neural import TRAINING_PARAMS_DOC

__all__ = ["DAEU"]


class DAEU(AutoencoderUnmixing):
    __doc__ = (
        """Deep autoencoder unmixing (DAEU, Palsson et al. 2018).

    Palsson, Sigurdsson, Sveinsson and Ulfarsson, "Hyperspectral unmixing
    using a neural network autoencoder" (2018) [Palsson2018]_, as compared
    on EELS by Brun et al. (2024) [Brun2024]_.

    The encoder (Dense 9R-6R-3R-R, batch norm, learned soft threshold,
    abundance sum-to-one, Gaussian dropout) maps each spectrum to its
    abundances; the single non-negative linear decoder holds the endmembers.
    Training minimises the Poisson deviance of the counts (``loss="auto"`` on
    count data) or the published mean per-spectrum spectral angle between
    the spectra and their reconstructions; both leave each spectrum's
    intensity free.

    Unlike the published reference code, the decoder starts from N-FINDR
    endmembers (``init="nfindr"``) and ``n_init`` restarts keep the lowest loss:
    a random start makes the result depend strongly on the seed.

    Parameters
    ----------
    n_components : int
        Number of endmembers (``output_dimension`` in ``s.decomposition``).
    init : {"nfindr", "vca", "random"}, default "nfindr"
        Decoder initialisation (N-FINDR or VCA endmembers, or random). Over
        the 20-series synthetic protocol the N-FINDR start gave the same
        mean endmember error as VCA and a steadier one (M/L set: 2.35 vs 2.33
        degrees, worst run 3.2 vs 5.2, abundance NMSE 0.23 vs 0.29; K set:
        2.0 vs 2.2 degrees, NMSE 0.031 vs 0.042), hence the default (VCA
        until 0.x: the published-protocol figures were measured with it).
        With ``"random"`` a batch holds at most a quarter of the spectra
        (four steps per epoch or more): from a random start one step per
        epoch left the endmembers 35-38 degrees from the truth on a 32 x 32
        synthetic image, four steps 4-10 degrees.
    n_init : int, default 1
        Independent trainings (different seeds); the lowest loss wins.
    hidden_factors : tuple of int, default (9, 6, 3)
        Hidden layer widths in multiples of ``n_components``.
    dropout : float, default 0.1
        Gaussian dropout rate on the abundances during training.
    warmup_epochs : int, default 15
        After a geometric start: epochs that train the encoder alone, with the
        decoder frozen at the start's endmembers, before both train
        together. Without it, the random encoder drags a good start away in
        the first epochs.
    decoder_lr_factor : float or None, default None
        Learning rate of the decoder (endmembers) relative to the encoder's.
        None: 0.1 after a geometric start (the decoder refines a good start),
        0.02 after a well-exposed one (more than 10 counts per channel, or
        that signal-to-noise ratio), 1.0 with ``init="random"`` (it must
        find the endmembers: at 0.1 they barely leave their random start,
        45-60 degrees from the truth on the synthetic sets;
        ``benchmarks/daeu_restarts.py``) and 1.0 after a
        noisy start (Poisson loss, under 2 counts per channel on average).
{LOSS_DOC}
    abundances : {"fcls", "encoder"}, default "fcls"
        How ``transform`` computes abundances: fully constrained least
        squares with the learned endmembers, or the encoder's output as in the
        original DAEU. Both are >= 0 and sum to one; on the synthetic
        benchmark FCLS gives several times lower abundance error (NMSE) than
        the encoder, for the same endmembers (see Notes).
{INTENSITY_DOC}{TRAINING_PARAMS_DOC}    max_init_samples : int, default 50000
        Spectra drawn for the geometric start (all if fewer).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Endmembers in the units of the data (scaled so that
        ``transform(X) @ components_`` fits ``X`` in least squares).
    model_ : eels_ae.models.DAEUNet
        The trained network (on ``device_``).
    device_ : torch.device
    loss_curve_ : list of float
        Training loss (``loss_``: Poisson deviance per count, or mean
        spectral angle in radians) per epoch, best restart.
    n_epochs_ : int
    best_loss_ : float
    init_losses_ : list of float
        Best loss of each restart.
    scale_ : float
        Input scaling (the largest absolute value of the training data).
    loss_ : {"poisson", "original"}
        The loss trained with (``loss="auto"`` decides on the data).
    start_misfit_, misfit_ : float
        How well the geometric start and the result fit the training data
        (each spectrum with its own intensity; Poisson deviance per count or
        relative squared error, as ``loss_``); a warning says so when the
        result fits worse. Absent with ``init="random"``.
    n_features_in_ : int

    Notes
    -----
    Default choices, measured on the synthetic chequerboard sets of
    :mod:`eels_ae.data` (see ``benchmarks/unmixing.py``):

    - the decoder starts at N-FINDR endmembers (projected on the signal
      subspace), the encoder first learns alone (``warmup_epochs``), then the
      decoder follows at a tenth of the learning rate: this keeps the good
      start and lowered the mean endmember error and its spread over seeds;
    - Adam with ``learning_rate=6e-3`` and batches of 1024 converge in a few
      tens of epochs; early stopping (``tol``) ends most runs sooner. Over
      three seeds on the 3 x 200 set, batches of 1024 gave a lower mean
      endmember error than 256 (1.9 vs 2.2 degrees), a much smaller spread
      over seeds (worst / best seed 1.1 vs 2.7) and 30 % less time; 2048 and
      more were worse;
    - both losses are blind to the per-component scale of the endmembers,
      so after training the endmembers are put back in data units by one
      least-squares factor;
    - the encoder's abundances are noisier than a constrained least-squares
      solve with the same endmembers, hence ``abundances="fcls"``; the
      encoder stays available (``abundances="encoder"``).
    """.replace("{TRAINING_PARAMS_DOC}", TRAINING_PARAMS_DOC)
        .replace("{INTENSITY_DOC}", INTENSITY_DOC)
        .replace("{LOSS_DOC}", LOSS_DOC)
    )

    _model_params = {
        "n_components": None,
        "init": "nfindr",
        "n_init": 1,
        "hidden_factors": (9, 6, 3),
        "dropout": 0.1,
        "warmup_epochs": 15,
        "decoder_lr_factor": None,
        "abundances": "fcls",
        "loss": "auto",
        "max_init_samples": 50000,
        "intensity": "auto",
    }
    _training_defaults = {
        "max_epochs": 40,
        "batch_size": 1024,
        "learning_rate": 6e-3,
    }
    _positional = ("n_components",)
    _constraints = {
        **AutoencoderUnmixing._shared_constraints,
        "hidden_factors": IntSequence(),
        "dropout": Interval("real", 0, 1, closed="left"),
        "abundances": Options(("fcls", "encoder")),
    }
    _progress_label = "DAEU"
    _noisy_start_counts = 2.0

    def _network(self, n_features):
        return DAEUNet(
            n_features,
            self.n_components,
            hidden_factors=tuple(self.hidden_factors),
            dropout=self.dropout,
        )

    def _encode(self, x):
        return self.model_.abundances(x)

    def _abundances(self, stream):
        if self.abundances == "fcls":
            return super()._abundances(stream)
        self.model_.eval()
        return predict_in_batches(self._encode, stream, self.device_)
