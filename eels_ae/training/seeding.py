"""Seeding torch without touching the caller's global random state."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["seed_sequence", "torch_seeded"]


def seed_sequence(random_state, n):
    """Draw ``n`` independent integer seeds from a scikit-learn ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        As everywhere in scikit-learn.
    n : int
        Number of seeds.

    Returns
    -------
    list of int
    """
    rs = check_random_state(random_state)
    return [int(s) for s in rs.randint(0, 2**31 - 1, size=n)]


@contextlib.contextmanager
def torch_seeded(seed, device=None):
    """Run a block with torch's global generators seeded by ``seed``.

    The caller's torch random state is restored afterwards (``fork_rng``), so
    fitting a model never changes what the user's own torch code draws next.
    """
    devices = []
    if device is not None and torch.device(device).type == "cuda":
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield np.random.default_rng(seed)
