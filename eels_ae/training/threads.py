"""Share the CPU cores with other processes while training.

PyTorch starts as many threads as there are cores and keeps them spinning
between operations. Two such processes on one machine (tests beside a
benchmark, two notebooks) then fight for the cores and each runs several
times slower than with half the threads (measured: about 7x on 2 cores, see
``benchmarks/results/threads.md``). :class:`ThreadGovernor` watches, every
couple of seconds, how much CPU the *other* processes use (``/proc/stat``
minus this process's own time) and gives PyTorch the cores they leave free.

The reverse holds inside one process: PyTorch's OpenMP threads keep
spinning for a while after each operation, and numpy's multi-threaded BLAS
then waits for them. :func:`blas_beside_torch` runs the numpy work of a fit
(the geometric start, least-squares abundances, the result checks) with one
BLAS thread on data small enough for one core (measured on 2 cores: a
randomised SVD of 4096 x 340 values took 0.066 s on two BLAS threads right
after a few PyTorch steps, 0.020 s on one, 0.031 s on two with PyTorch
idle).
"""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["ThreadGovernor", "blas_beside_torch", "single_blas_thread"]

#: Set to False to leave PyTorch's thread count alone.
ADAPT_THREADS = True


#: Data of up to this many values get one BLAS thread (a larger
#: decomposition gains more from the cores than it loses to the waiting).
SMALL_BLAS_WORK = 2**25

_CONTROLLER = None


@contextmanager
def blas_beside_torch(n_values):
    """numpy / scipy's BLAS on one thread for the duration, when the work is
    on ``n_values`` values or fewer (and ``ADAPT_THREADS`` is on)."""
    global _CONTROLLER
    if not ADAPT_THREADS or n_values > SMALL_BLAS_WORK:
        yield
        return
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        # Finding the libraries takes ~1 ms: once per process.
        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def single_blas_thread(method):
    """Run ``method(self, X, ...)`` under :func:`blas_beside_torch` sized by
    ``X``."""

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        # The shape attribute only: np.shape would convert array-likes
        # (lists, or objects that refuse numpy's protocols).
        shape = getattr(X, "shape", None)
        size = int(np.prod(shape, dtype=np.float64)) if shape is not None else 0
        with blas_beside_torch(size):
            return method(self, X, *args, **kwargs)

    return wrapper


def _cpus():
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _busy_seconds(cpus, tick):
    """CPU-seconds spent busy so far on ``cpus`` (all processes), or None."""
    try:
        with open("/proc/stat") as f:
            lines = f.readlines()
    except OSError:
        return None
    wanted = {f"cpu{c}" for c in cpus}
    busy = 0
    for line in lines:
        parts = line.split()
        if parts and parts[0] in wanted:
            v = [int(x) for x in parts[1:]]
            # user nice system idle iowait irq softirq steal ...
            busy += v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / tick


def _own_seconds():
    t = os.times()
    return t.user + t.system


class ThreadGovernor:
    """Give PyTorch the cores other processes leave free (Linux, CPU only).

    Parameters
    ----------
    device : torch.device
        Nothing is done for a GPU.
    interval : float, default 2.0
        Seconds between two looks at the other processes.

    Use :meth:`check` often (every batch: it only looks at the clock until
    ``interval`` has passed) and :meth:`restore` at the end (or use it as a
    context manager).
    """

    def __init__(self, device, interval=2.0):
        self.cpus = _cpus()
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.initial = torch.get_num_threads()
        self.interval = float(interval)
        self.enabled = (
            ADAPT_THREADS
            and torch.device(device).type == "cpu"
            and len(self.cpus) > 1
            and _busy_seconds(self.cpus, self.tick) is not None
        )
        self._mark()

    def _mark(self):
        self.last = time.monotonic()
        self.busy = _busy_seconds(self.cpus, self.tick) if self.enabled else None
        self.own = _own_seconds()

    def check(self):
        """Adjust the thread count if ``interval`` seconds have passed."""
        if not self.enabled:
            return
        wall = time.monotonic() - self.last
        if wall < self.interval:
            return
        busy = _busy_seconds(self.cpus, self.tick)
        own = _own_seconds()
        others = max(0.0, ((busy - self.busy) - (own - self.own)) / wall)
        free = len(self.cpus) - int(round(others))
        threads = max(1, min(self.initial, free))
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        self._mark()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()
        return False

    def restore(self):
        """Back to the thread count PyTorch had before."""
        if self.enabled and torch.get_num_threads() != self.initial:
            torch.set_num_threads(self.initial)
