"""Resuming a run, as a user meets it with `char_tiny` in seconds: a changed corpus or tokenizer is refused with advice
that works, a hand-edited checkpoint is named, a failed start leaves nothing, and stray files are never taken for
checkpoints."""
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


def test_refused_resume_on_a_changed_corpus_leaves_the_tokenizer(corpus_run):
    r, corpus = corpus_run
    tok_before = (r / 'tokenizer.json').read_bytes()
    corpus.write_text(TEXT + ' \u2603 new characters \u00e9\u00e8')        # another vocabulary size
    with pytest.raises(ValueError, match='no longer gives the data the run was trained on') as e:
        quiet(train, tiny(r, corpus, steps=4))
    assert 'Restore the corpus' in str(e.value) and 'NameError' not in str(e.value)
    assert (r / 'tokenizer.json').read_bytes() == tok_before


def test_resume_on_a_corpus_with_other_characters_of_the_same_count_is_refused(corpus_run):
    r, corpus = corpus_run
    assert 'z' in TEXT and 'h' in TEXT
    corpus.write_text(TEXT.replace('h', '\u00fe'))          # every h becomes another character: same sizes, other ids
    tok_before = (r / 'tokenizer.json').read_bytes()
    with pytest.raises(ValueError, match=r'the tokenizer, the tokens changed'):
        quiet(train, tiny(r, corpus, steps=4))
    assert (r / 'tokenizer.json').read_bytes() == tok_before


def test_the_advice_of_the_refusal_works(corpus_run):
    r, corpus = corpus_run
    good = corpus.read_text()
    corpus.write_text(good + 'x')
    with pytest.raises(ValueError): quiet(train, tiny(r, corpus, steps=4))
    corpus.write_text(good)                                            # restore the corpus, as advised
    assert quiet(train, tiny(r, corpus, steps=4))['step'] == 4
    corpus.write_text(good + 'x')                                      # or a new out_dir, as advised
    assert quiet(train, tiny(r.parent / 'b', corpus, steps=2))['step'] == 2


def test_a_folder_named_like_a_checkpoint_is_not_one(corpus_run):
    r, corpus = corpus_run
    (r / 'ckpt_0000015.pt').mkdir()
    with pytest.warns(UserWarning, match='ckpt_0000015.pt; they are left alone'):
        res = quiet(train, tiny(r, corpus, steps=6))
    assert res['step'] == 6 and (r / 'ckpt_0000015.pt').is_dir()
    assert [p.name for p in checkpoint_paths(r)] == ['ckpt_0000004.pt', 'ckpt_0000006.pt']


def test_a_failed_start_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        quiet(train, tiny(tmp_path / 'new' / 'run', tmp_path / 'no_such_corpus.txt'))
    assert not (tmp_path / 'new').exists()


def test_lock_with_a_pid_that_is_not_a_number(corpus_run):
    r, corpus = corpus_run
    (r / '.lock').write_text('{"pid": "twelve", "host": "x"}')
    with pytest.raises(RuntimeError, match="is not a lock sedd_nb wrote.*delete"):
        quiet(train, tiny(r, corpus, steps=4))


@pytest.mark.parametrize('field', ['out_dir', 'cache_dir'])
def test_a_file_where_a_folder_belongs(tmp_path, field):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    (tmp_path / 'afile').write_text('x')
    cfg = tiny(tmp_path / 'r', corpus)
    setattr(cfg, field, str(tmp_path / 'afile'))
    with pytest.raises(ValueError, match=f"{field}=.* is a file, not a directory"):
        quiet(train, cfg)


def _edit(r, **change):
    p = checkpoint_paths(r)[-1]; st = torch.load(p, weights_only=True); st.update(change); torch.save(st, p)


@pytest.mark.parametrize('change, words', [
    (dict(step=-1), "its 'step' is -1, not a non-negative int"),
    (dict(step='2'), "its 'step' is '2', not a non-negative int"),
    (dict(history=5), "its 'history' is 5, not a list"),
    (dict(rng={'torch': 1}), 'cannot be restored (TypeError'),
    (dict(optimizer={}), "cannot be restored (KeyError: 'param_groups')"),
], ids=['step negative', 'step string', 'history int', 'rng garbage', 'optimizer empty'])
def test_hand_edited_checkpoint_is_named_on_resume(corpus_run, change, words):
    r, corpus = corpus_run
    _edit(r, **change)
    with pytest.raises(ValueError) as e: quiet(train, tiny(r, corpus, steps=4))
    assert words in str(e.value), str(e.value)

