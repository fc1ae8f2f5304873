"""An export describes its network three times (`sedd_nb.model_config`, `sedd_nb.train_config`, the paper's keys):
they are checked against each other on load, the paper's section says when the paper's code cannot read the network,
and a hand-edited or foreign value is named in one line."""
import json
from pathlib import Path

import pytest

from sedd_nb.eval import eval_texts
from sedd_nb.hub import export_run, load_checkpoint
from conftest import cli, quiet


# the cases below came from the third round of bad inputs (issue 23)
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


@pytest.fixture(scope='module')
def block_export(block_run, tmp_path_factory):
    return quiet(export_run, block_run, tmp_path_factory.mktemp('exports') / 'blocks')


def edited(src, tmp_path, edit):
    "A copy of the export `src` whose config.json went through `edit(dict)`."
    dst = tmp_path / 'edited'; dst.mkdir()
    for p in src.iterdir(): (dst / p.name).write_bytes(p.read_bytes())
    cfg = json.loads((src / 'config.json').read_text()); edit(cfg)
    (dst / 'config.json').write_text(json.dumps(cfg))
    return dst


def test_the_paper_section_of_a_block_export_says_the_papers_code_cannot_read_it(block_export):
    m = json.loads((block_export / 'config.json').read_text())['model']
    assert m['type'] == 'sedd_nb' and "output='subs'" in m['paper_code_cannot_read'] and 'block_size=4' in m['paper_code_cannot_read']
    card = (block_export / 'README.md').read_text()
    assert 'block diffusion, blocks of 4 tokens' in card and "the paper's code cannot read it" in card
    assert load_checkpoint(block_export)['model'].cfg.block_size == 4


def _drop(d, *path):
    for k in path[:-1]: d = d[k]
    d.pop(path[-1])

def _set(d, value, *path):
    for k in path[:-1]: d = d[k]
    d[path[-1]] = value


@pytest.mark.parametrize('edit,words', [
    (lambda c: _drop(c, 'sedd_nb', 'model_config', 'block_size'), 'block_size: None vs 4'),
    (lambda c: _set(c, 2, 'sedd_nb', 'model_config', 'block_size'), 'block_size: 2 vs 4'),
    (lambda c: _set(c, 3, 'model', 'n_blocks'), 'n_layers: 2 vs 3'),
    (lambda c: _drop(c, 'sedd_nb'), "not the paper's network (arch='nb', output='subs'"),
    (lambda c: _set(c, {**c['sedd_nb']['model_config'], 'rope_scaling': 2}, 'sedd_nb', 'model_config'),
     'ModelConfig fields this version of sedd_nb does not know: rope_scaling. Upgrade sedd_nb'),
    (lambda c: _set(c, None, 'sedd_nb', 'model_config'), 'sedd_nb.model_config is None, not a dict'),
    (lambda c: _set(c, '96', 'tokens'), "tokens must be a positive integer, got '96'"),
    (lambda c: _set(c, 4.5, 'sedd_nb', 'step'), 'sedd_nb.step must be a non-negative integer, got 4.5'),
], ids=['block_size lost', 'block_size changed', 'paper keys changed', 'sedd_nb section lost', 'unknown key',
        'model_config null', 'tokens a string', 'step a float'])
def test_an_edited_export_is_refused_in_one_line(block_export, tmp_path, edit, words):
    bad = edited(block_export, tmp_path, edit)
    code, out, err = cli('sample', '--ckpt', bad, '--n', 1, '--steps', 2)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_raw_on_an_export_is_refused(block_export):
    code, out, err = cli('sample', '--ckpt', block_export, '--n', 1, '--steps', 2, '--raw')
    assert code == 2 and 'holds one set of weights' in err, err


def test_eval_of_an_empty_dataset_path_is_refused(tiny_run):
    code, out, err = cli('eval', '--ckpt', tiny_run, '--dataset', '')
    assert code == 2 and 'dataset is an empty path' in err, err
    with pytest.raises(ValueError, match='dataset is an empty path'): eval_texts(Path(''))


def test_an_export_onto_a_full_disk_is_one_line_and_leaves_nothing(tiny_run, tmp_path, monkeypatch):
    import sedd_nb.hub as H
    from safetensors import SafetensorError
    def full(*a, **kw): raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                                              'message: "No space left on device" })')
    monkeypatch.setattr(H, 'save_file', full)
    code, out, err = cli('export', '--ckpt', tiny_run, '--out', tmp_path / 'hub')
    assert code == 2 and 'Could not write the export' in err and 'Traceback' not in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_export_under_a_file_is_named(tiny_run, tmp_path):
    (tmp_path / 'f').write_text('x')
    code, out, err = cli('export', '--ckpt', tiny_run, '--out', tmp_path / 'f' / 'hub')
    assert code == 2 and 'which is a file; pick a folder path' in err, err


@pytest.mark.parametrize('where', ['run', 'inside', 'parent', 'grandparent'])
def test_export_never_writes_over_a_run(corpus_run, where):
    r, _ = corpus_run
    out = {'run': r, 'inside': r / 'hub', 'parent': r.parent, 'grandparent': r.parent.parent}[where]
    before = listing(r.parent.parent)
    code, err = cli_err('export', '--ckpt', r, '--out', out, '--overwrite')
    assert code == 2 and 'run directory' in err and 'Traceback' not in err, err
    assert listing(r.parent.parent) == before                       # nothing deleted, nothing added


def test_export_overwrite_replaces_only_a_previous_export(corpus_run, tmp_path):
    r, _ = corpus_run
    (tmp_path / 'notes').mkdir(); (tmp_path / 'notes' / 'keep.txt').write_text('mine')
    code, err = cli_err('export', '--ckpt', r, '--out', tmp_path / 'notes', '--overwrite')
    assert code == 2 and 'replaces only a previous export' in err, err
    assert (tmp_path / 'notes' / 'keep.txt').read_text() == 'mine'
    quiet(export_run, r, tmp_path / 'pub'); quiet(export_run, r, tmp_path / 'pub', overwrite=True)


def test_export_carries_no_machine_path_and_normal_modes(corpus_run, tmp_path):
    r, _ = corpus_run
    out = quiet(export_run, r, tmp_path / 'pub')
    text = (out / 'config.json').read_text() + (out / 'README.md').read_text()
    assert str(tmp_path) not in text and '/tmp' not in text, text
    umask = os.umask(0); os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o666 & ~umask}
    assert load_checkpoint(out)['cfg'].out_dir == 'a'


def test_partial_last_metrics_line_does_not_block_export(corpus_run, tmp_path):
    r, _ = corpus_run
    with open(r / 'metrics.jsonl', 'a') as f: f.write('{"step": 3, "loss_bi')
    out = quiet(export_run, r, tmp_path / 'pub')
    assert (out / 'README.md').exists()


def test_newer_train_config_key_in_a_hub_export_is_named(corpus_run, tmp_path):
    r, _ = corpus_run
    out = quiet(export_run, r, tmp_path / 'pub')
    cfg = json.loads((out / 'config.json').read_text()); cfg['sedd_nb']['train_config']['block_size'] = 4
    (out / 'config.json').write_text(json.dumps(cfg))
    code, err = cli_err('sample', '--ckpt', out, '--steps', 2, '--n', 1)
    assert code == 2 and 'does not know: block_size' in err and 'Upgrade sedd_nb' in err, err

