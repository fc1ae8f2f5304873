"""`train` writes only into folders it owns: a new or empty folder, a run it may resume, or its own run killed before
its first checkpoint. Anything else is refused in one line, and nothing in it is touched (listing and digests)."""
import json, shutil
from pathlib import Path

import pytest

from sedd_nb.hub import export_run
from sedd_nb.checkpoint import checkpoint_paths
from sedd_nb.train import train
RUN_MARK = '.sedd_nb_run'                      # the mark of a folder the trainer made
from conftest import cli, quiet, snapshot, tiny_config


def _export(run, d):
    out = d / 'victim'; quiet(export_run, run, out)
    (out / 'metrics.jsonl').write_text('{"my": "notes"}\n')
    return out

def _project(run, d):
    out = d / 'project'; out.mkdir()
    (out / 'tokenizer.json').write_text('{"mine": true}'); (out / 'metrics.jsonl').write_text('{"my": "notes"}\n')
    return out

def _parent_of_runs(run, d):
    out = d / 'runs'; shutil.copytree(run, out / 'a')
    return out

def _notes(run, d):
    out = d / 'notes'; out.mkdir(); (out / 'todo.txt').write_text('keep me')
    return out


@pytest.mark.parametrize('make', [_export, _project, _parent_of_runs, _notes])
def test_train_refuses_a_folder_it_did_not_make(tiny_run, tmp_path, make):
    folder = make(tiny_run, tmp_path)
    (tmp_path / 'other.txt').write_text('other text, a few words of it. ' * 200)
    before = snapshot(folder)
    code, out, err = cli('train', '--preset', 'char_tiny', 'steps=2', f'out_dir={folder}', f'corpus={tmp_path}/other.txt',
                         f'cache_dir={tmp_path}/cache', 'progress=false')
    assert code == 2 and len(err.strip().splitlines()) == 1 and 'new or empty' in err and 'Traceback' not in err, err
    assert snapshot(folder) == before


def test_its_own_run_killed_before_the_first_checkpoint_starts_afresh(tmp_path):
    run = tmp_path / 'run'; run.mkdir()
    (run / RUN_MARK).write_text('{}'); (run / 'metrics.jsonl').write_text('{"step": 1}\n'); (run / 'tokenizer.json').write_text('{}')
    assert quiet(train, tiny_config(run, 2))['step'] == 2
    assert 'loss_bits_tok' in json.loads((run / 'metrics.jsonl').read_text().splitlines()[0])   # its own lines only
    assert (run / 'tokenizer.json').read_text() != '{}' and checkpoint_paths(run)


def test_an_empty_folder_and_a_stale_lock_are_fine(tmp_path):
    (tmp_path / 'empty').mkdir()
    assert quiet(train, tiny_config(tmp_path / 'empty', 2))['step'] == 2
    assert (tmp_path / 'empty' / RUN_MARK).exists()


def test_the_already_complete_shortcut_checks_the_resume(tiny_run):
    before = snapshot(tiny_run)
    code, out, err = cli('train', '--preset', 'char_tiny', 'steps=4', f'out_dir={tiny_run}', 'graph=uniform')
    assert code == 2 and 'Cannot resume' in err and "graph: checkpoint 'absorbing' vs config 'uniform'" in err, (out, err)
    code, out, err = cli('train', '--preset', 'char_tiny', 'steps=4', f'out_dir={tiny_run}')
    assert code == 0 and 'already complete' in out and 'steps=N with N > 4' in out, (out, err)
    assert snapshot(tiny_run) == before
