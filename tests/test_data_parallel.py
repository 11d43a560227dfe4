"""Data-parallel training under torchrun: 2 CPU processes (gloo, loopback)
give the model quality of one process, each training on its own share."""

from __future__ import annotations

import pytest

from eels_ae.training.ddp_check import compare


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    alone, ranks = compare(tmp_path, max_epochs=60)
    assert alone["world_size"] == 1
    assert [r["world_size"] for r in ranks] == [2, 2]
    # Each process trained on its own share; together, on every spectrum.
    shares = [r["samples_per_epoch"] for r in ranks]
    assert sum(shares) == alone["samples_per_epoch"] == alone["n_samples"]
    assert min(shares) >= 0.4 * alone["n_samples"]
    # DDP kept the weights equal: both processes hold the same model.
    assert ranks[0]["components_sha"] == ranks[1]["components_sha"]
    # The same quality as one process (not the same numbers: other batches).
    r0 = ranks[0]
    assert r0["sad"] < 1.5 * alone["sad"] + 0.5, (r0, alone)
    assert r0["nmse"] < 1.5 * alone["nmse"] + 0.05, (r0, alone)
    assert r0["sad"] < 4.0 and r0["nmse"] < 0.5
