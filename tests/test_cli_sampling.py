"""Sampling from the command line: what the seed fixes, text longer than the training length with a prompt, the
first-hitting sampler refused where it does not apply, and per-sample seeds that do not depend on how many are drawn."""
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
from conftest import TEXT, cli_err, listing, quiet, tiny


def test_sample_help_says_what_the_seed_fixes():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit): run_cli(['sample', '--help'])
    assert 'the same seed with another --n gives other samples' in ' '.join(buf.getvalue().split())


def test_cli_writes_text_longer_than_the_training_length_with_a_prompt(corpus_run):
    r, _ = corpus_run                                                             # trained on blocks of 32 characters
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run_cli(['sample', '--ckpt', str(r), '--length', '150', '--steps', '4', '--n', '2', '--prompt', 'The ',
                 '--predictor', 'first_hitting'])
    texts = [t.strip('\n') for t in out.getvalue().split('---')[1:]]
    assert len(texts) == 2 and all(t.startswith('The ') for t in texts), texts
    eos = data.EOS_TOKEN                                                   # one token, several characters
    assert all(len(t) - t.count(eos) * (len(eos) - 1) == 150 for t in texts), [len(t) for t in texts]


def test_first_hitting_on_a_uniform_run_is_refused(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'u', corpus, steps=2, graph='uniform'))
    code, err = cli_err('sample', '--ckpt', tmp_path / 'u', '--predictor', 'first_hitting', '--steps', 2, '--n', 1)
    assert code == 2 and 'first hitting simulates the absorbing process' in err, err
    code, err = cli_err('sample', '--ckpt', tmp_path / 'u', '--length', 100, '--steps', 2, '--n', 1)
    assert code == 2 and 'prompting is exact only on the absorbing graph' in err, err


@pytest.mark.parametrize('predictor', ['analytic', 'first_hitting'])
def test_per_sample_seed_gives_the_same_samples_whatever_n(corpus_run, predictor):
    from sedd_nb.generate import sample_texts
    r, _ = corpus_run
    b = load_checkpoint(r)
    args = (b['model'], b['graph'], b['noise'], b['tokenizer'])
    one = sample_texts(*args, 1, 32, 4, seed=5, predictor=predictor, per_sample_seed=True)
    five = sample_texts(*args, 5, 32, 4, seed=5, predictor=predictor, per_sample_seed=True)
    assert one[0] == five[0] and len(set(five)) > 1                      # the same first sample; the others differ
    assert sample_texts(*args, 5, 32, 4, seed=6, predictor=predictor, per_sample_seed=True)[0] != five[0]

