"""Training shares the CPU with other processes (the thread governor)."""

import subprocess
import sys
import time

import pytest
import torch

from eels_ae.training import threads
from eels_ae.training.threads import ThreadGovernor


@pytest.mark.serial
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/stat (Linux)"
)
def test_threads_follow_the_cores_other_processes_leave_free():
    before = torch.get_num_threads()
    governor = ThreadGovernor("cpu", interval=0.5)
    if not governor.enabled:
        pytest.skip("a single core: nothing to share")
    cores = len(governor.cpus)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        governor._mark()
        time.sleep(1.0)
        governor.check()
        assert torch.get_num_threads() == max(1, min(before, cores - 1))
    finally:
        busy.kill()
        busy.wait()
    time.sleep(1.0)
    governor.check()
    assert torch.get_num_threads() == min(before, cores)
    governor.restore()
    assert torch.get_num_threads() == before


def test_governor_does_nothing_on_a_gpu_or_when_switched_off(monkeypatch):
    assert not ThreadGovernor("cuda").enabled
    monkeypatch.setattr(threads, "ADAPT_THREADS", False)
    assert not ThreadGovernor("cpu").enabled
