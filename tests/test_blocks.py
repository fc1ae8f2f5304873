"""Block diffusion models (chapter 15) as their users meet them: trained, resumed, exported, sampled and evaluated
through the trainer, the Hub loader and the command line, on the tiny char preset."""
import json, subprocess, sys
from pathlib import Path

import pytest
import torch

from sedd_nb.checkpoint import state_diff

from sedd_nb.blocks import sample_blocks
from sedd_nb.config import TrainConfig
from sedd_nb.hub import export_run, load_checkpoint
from sedd_nb.train import train

BLOCKS = dict(block_size=8, output='subs', sigma_cond=False)


def cfg(out, **kw):
    return TrainConfig.char_tiny(out_dir=str(out), steps=10, ckpt_every=5, keep_last=5, progress=False, ema=0.9,
                                 sample_steps=4, n_samples=1, model_kw=dict(BLOCKS), **kw)


class Stop(Exception): pass


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "A 10-step block run, and the same run stopped after its step-5 checkpoint and resumed."
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp('blocks')
    train(cfg(d / 'whole', cache_dir=str(d / 'cache')))
    def stop(event, step=None, **kw):
        if event == 'after_step' and step == 5: raise Stop
    with pytest.raises(Stop): train(cfg(d / 'cut', cache_dir=str(d / 'cache')), hook=stop)
    train(cfg(d / 'cut', cache_dir=str(d / 'cache')))
    return d


def test_a_block_run_resumes_bit_for_bit(runs):
    a = torch.load(runs / 'whole' / 'ckpt_0000010.pt', weights_only=True)
    b = torch.load(runs / 'cut' / 'ckpt_0000010.pt', weights_only=True)
    assert state_diff({p: a[p] for p in ('model', 'ema')}, {p: b[p] for p in ('model', 'ema')}) == []
    losses = lambda d: [r['loss_bits_tok'] for r in map(json.loads, (d / 'metrics.jsonl').read_text().splitlines())
                        if 'loss_bits_tok' in r]
    assert losses(runs / 'whole') == losses(runs / 'cut')


def test_the_loaded_run_is_a_block_model_and_samples_any_length(runs):
    bd = load_checkpoint(runs / 'whole')
    assert bd['model'].cfg.block_size == 8 and not bd['model'].cfg.sigma_cond
    x = sample_blocks(bd['model'], bd['graph'], bd['noise'], 2, 100, generator=torch.Generator().manual_seed(0))
    assert x.shape == (2, 100) and int(x.max()) < bd['graph'].mask          # longer than seq_len 32, nothing masked


def test_export_round_trip_keeps_the_block_model(runs, tmp_path):
    export_run(runs / 'whole', tmp_path / 'hub')
    a, b = load_checkpoint(runs / 'whole'), load_checkpoint(tmp_path / 'hub')
    assert b['model'].cfg.block_size == 8
    g = lambda: torch.Generator().manual_seed(3)
    xa = sample_blocks(a['model'], a['graph'], a['noise'], 2, 40, generator=g())
    xb = sample_blocks(b['model'], b['graph'], b['noise'], 2, 40, generator=g())
    assert torch.equal(xa, xb)


def _cli(*args):
    return subprocess.run([sys.executable, '-c', 'from sedd_nb.cli import cli; cli()', *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_samples_and_evaluates_a_block_run(runs, tmp_path):
    r = _cli('sample', '--ckpt', runs / 'whole', '--n', 2, '--length', 70, '--prompt', 'The ', '--steps', 4)
    assert r.returncode == 0, r.stderr[-2000:]
    texts = [t for t in r.stdout.split('---\n') if t.strip()]
    assert len(texts) == 2 and all(t.startswith('The ') for t in texts), r.stdout
    (tmp_path / 'text.txt').write_text('the function returns a list of the values of the object. ' * 4)
    r = _cli('eval', '--ckpt', runs / 'whole', '--dataset', tmp_path / 'text.txt')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'text.txt' in r.stdout


def test_block_settings_that_cannot_work_are_refused(tmp_path):
    with pytest.raises(ValueError, match='sigma_cond=False'):
        TrainConfig.char_tiny(out_dir=str(tmp_path / 'x'), model_kw=dict(block_size=8))
    with pytest.raises(ValueError, match='causal=False'):
        TrainConfig.char_tiny(out_dir=str(tmp_path / 'y'), objective='ar', model_kw=dict(BLOCKS))
