"""Loading a finished run: the EMA of an `ema=0` run is its trained weights (also for checkpoints of older versions),
and a hand-edited or diverged checkpoint is refused in one line that names the problem."""
import contextlib, io, json, os, stat, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sedd_nb import data
from sedd_nb.cli import run_cli
from sedd_nb.eval import zero_shot_ppl
from sedd_nb.hub import export_run
from sedd_nb.sampling import sample
from sedd_nb.graphs import Absorbing
from sedd_nb.noise import LogLinearNoise
from sedd_nb.checkpoint import checkpoint_paths
from sedd_nb.train import TrainConfig, train, load_checkpoint
from sedd_nb.checkpoint import state_diff
from conftest import TEXT, cli_err, listing, quiet, tiny


def test_ema_0_run_loads_its_trained_weights(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'r', corpus, steps=4, ema=0.))
    ck = torch.load(checkpoint_paths(tmp_path / 'r')[-1], weights_only=True)
    assert state_diff(ck['ema'], ck['model']) == []                        # saved: the EMA is the trained weights
    a, b = load_checkpoint(tmp_path / 'r'), load_checkpoint(tmp_path / 'r', ema=False)
    assert state_diff(a.model.state_dict(), b.model.state_dict()) == []


def test_ema_0_checkpoint_of_an_older_version_loads_the_raw_weights(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'r', corpus, steps=2, ema=0.))
    p = checkpoint_paths(tmp_path / 'r')[-1]
    st = torch.load(p, weights_only=True)
    st['ema'] = {k: torch.zeros_like(v) for k, v in st['ema'].items()}     # as before: an EMA never updated
    torch.save(st, p)
    w = load_checkpoint(tmp_path / 'r')['model'].state_dict()['tok_emb.weight']
    assert torch.equal(w, st['model']['tok_emb.weight'])


def test_hand_edited_checkpoint_config_is_one_line(corpus_run):
    r, _ = corpus_run
    p = checkpoint_paths(r)[-1]
    st = torch.load(p, weights_only=True); st['config']['model_kw'] = {'d_model': 32}; torch.save(st, p)
    code, err = cli_err('sample', '--ckpt', r, '--steps', 2, '--n', 1)
    assert code == 2 and 'its weights do not fit the network its config describes' in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_nan_weights_are_named_when_loading(corpus_run):
    r, _ = corpus_run
    p = checkpoint_paths(r)[-1]; st = torch.load(p, weights_only=True)
    st['ema'] = {k: v * float('nan') if v.is_floating_point() else v for k, v in st['ema'].items()}; torch.save(st, p)
    code, err = cli_err('sample', '--ckpt', r, '--steps', 2, '--n', 1)
    assert code == 2 and 'its weights hold NaN or inf' in err, err
    load_checkpoint(r, ema=False)                                       # the raw weights still load

