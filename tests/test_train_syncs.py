"""A training step reads nothing back from the device.

On a GPU every `float(t)`, `int(t)`, `bool(t)`, `t.item()`, `t.tolist()` or `t.cpu()` of a device tensor makes the
host wait for the GPU. There is no GPU here, so the test counts those conversions on the CPU while a step runs, with
`sedd_nb.graphs.on_host` patched to say "not on the host": every value check then takes the path it takes on a GPU
(a device-side assert) and only a real read-back is counted. `bench/gpu_perf.py` checks the same on a GPU with
`torch.cuda.set_sync_debug_mode('error')`.
"""
import dataclasses

import pytest
import torch

from conftest import counting_reads

from sedd_nb import graphs
from sedd_nb.train import (TrainConfig, make_optimizer, open_run_dir, reads_back, setup_processes, start_run,
                            train_step)


def make_run(tmp_path, **kw):
    cfg = TrainConfig.char_tiny(out_dir=str(tmp_path / 'run'), cache_dir=str(tmp_path / 'cache'), steps=8,
                                progress=False, ema=0.9, log_every=8, eval_every=0, sample_every=0, ckpt_every=0, **kw)
    procs = setup_processes(cfg)
    run_dir, _ = open_run_dir(cfg)
    run = start_run(cfg, run_dir, procs)
    return dataclasses.replace(run, opt=make_optimizer(run.raw, cfg, fused=True))   # the optimizer of a GPU run


@pytest.mark.parametrize('kw', [{}, dict(grad_accum=2)])
def test_step_reads_nothing_back(tmp_path, monkeypatch, kw):
    run = make_run(tmp_path, **kw)
    train_step(run, 0)                                  # the optimizer's state is created on the first step
    before = [p.detach().clone() for p in run.raw.parameters()]
    with counting_reads(monkeypatch, (graphs,)) as calls:
        losses = [train_step(run, s) for s in range(1, 4)]
    assert calls == [], f"a training step read tensors back to the host: {calls}"
    assert all(torch.isfinite(l) for l, _ in losses)
    assert any(not torch.equal(a, p) for a, p in zip(before, run.raw.parameters()))   # and it did train
    assert not any(reads_back(run.cfg, s) for s in range(1, 8)) and reads_back(run.cfg, 8)


def test_counter_sees_a_read(tmp_path, monkeypatch):
    """The counter can fail: the foreach optimizer has to decide on the host whether to step, once a step (it also
    reads its own step counters, which live on the host)."""
    run = make_run(tmp_path)
    run = dataclasses.replace(run, opt=make_optimizer(run.raw, run.cfg))      # on the CPU: foreach
    train_step(run, 0)
    with counting_reads(monkeypatch, (graphs,)) as calls:
        for s in range(1, 3): train_step(run, s)
    assert calls.count('__bool__') == 2 and calls[0] == '__bool__'
