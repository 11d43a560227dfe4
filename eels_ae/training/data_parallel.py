"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

Run an ordinary training script under ``torchrun --nproc_per_node N``: the
training engine finds the process group that torchrun describes (the
``WORLD_SIZE`` environment variable), joins it (gloo on the CPU, NCCL on
GPUs, one GPU per process by ``LOCAL_RANK``), wraps the network in
``DistributedDataParallel`` and lets each process train on its own share of
every block of spectra (rows ``rank::world_size`` of each shuffled block).
Gradients are averaged by DDP, so every process holds the same weights; the
epoch losses are summed over the processes, so early stopping and the best
epoch are decided the same way everywhere. Without torchrun nothing changes.

>>> # train.py, run as: torchrun --nproc_per_node 2 train.py
>>> s = hs.load("big.zspy", lazy=True)
>>> s.decomposition(algorithm="daeu", output_dimension=3, random_state=0)
>>> if eels_ae.training.data_parallel.rank() == 0:
...     s.learning_results.decomposition_algorithm.save("daeu.safetensors")
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist

__all__ = ["DataParallel", "rank", "world_size"]


def _initialized():
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 without torchrun)."""
    return dist.get_rank() if _initialized() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of training processes (1 without torchrun)."""
    if _initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_device(device: torch.device) -> torch.device:
    """Under torchrun with GPUs, the GPU of this process (``LOCAL_RANK``)."""
    if device.type == "cuda" and world_size() > 1 and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


class _LossForward(torch.nn.Module):
    """DDP hooks ``forward``; eels_ae's networks own a ``loss`` method."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.loss(x)


class DataParallel:
    """The training engine's view of data parallelism (inactive alone).

    Parameters
    ----------
    model : torch.nn.Module
        On its device already.
    device : torch.device
    """

    def __init__(self, model, device):
        self.active = world_size() > 1 and dist.is_available()
        self.model = model
        self.device = device
        self.ddp = None
        if not self.active:
            self.shard = None
            return
        if not _initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        # Rank 0's weights are broadcast here; some networks leave parts
        # unused in some steps (frozen or warm-up parameters).
        self.ddp = DistributedDataParallel(
            _LossForward(model), device_ids=ids, find_unused_parameters=True
        )
        self.shard = (dist.get_rank(), dist.get_world_size())

    def loss(self, x):
        """The model's loss of a batch (through DDP when active)."""
        return self.ddp(x) if self.active else self.model.loss(x)

    def join(self):
        """A context for an epoch in which ranks may have uneven batch counts."""
        if not self.active:
            return contextlib.nullcontext()
        from torch.distributed.algorithms.join import Join

        return Join([self.ddp])

    def epoch_totals(self, total, count, stop):
        """Loss sum, sample count and stop request summed over the ranks."""
        if not self.active:
            return total, count, stop
        t = torch.tensor(
            [total, float(count), float(stop)], dtype=torch.float64, device=self.device
        )
        dist.all_reduce(t)
        return float(t[0]), int(t[1]), bool(t[2] > 0)
