"""Faults in a run directory: stray files named like checkpoints, step numbers of 8 digits, two trainers on one
run, a stale lock, a checkpoint write that fails half-way, temp files of dead writers."""
import json, os, shutil, socket, subprocess, sys, warnings
from pathlib import Path
import pytest
import torch

import sedd_nb.train as T
from sedd_nb.checkpoint import RunLock, checkpoint_paths, save_checkpoint
from sedd_nb.train import TrainConfig, train


def cfg(run, steps, **kw):
    return TrainConfig.char_tiny(out_dir=str(run), steps=steps, ckpt_every=2, keep_last=2, progress=False,
                                 sample_steps=2, n_samples=1, cache_dir=str(Path(run).parent / 'cache'), **kw)


def dead_pid():
    p = subprocess.Popen([sys.executable, '-c', 'pass']); p.wait()
    return p.pid


def test_stray_checkpoint_name_is_never_taken_nor_deleted(tmp_path):
    run = tmp_path / 'run'
    train(cfg(run, 4, schedule='constant'))                        # constant: resuming with more steps is quiet
    stray = run / 'ckpt_best.pt'
    stray.write_bytes((run / 'ckpt_0000002.pt').read_bytes() if (run / 'ckpt_0000002.pt').exists() else b'x')
    with pytest.warns(UserWarning, match='ckpt_best.pt'):
        res = train(cfg(run, 6, schedule='constant'))
    assert res['step'] == 6
    assert [p.name for p in checkpoint_paths(run)] == ['ckpt_0000004.pt', 'ckpt_0000006.pt']
    assert stray.exists()                                          # left alone
    steps = [json.loads(l)['step'] for l in (run / 'metrics.jsonl').read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6               # resumed from 4, not from the stray file


def test_checkpoints_are_ordered_by_step_not_by_name(tmp_path):
    for s in (9_999_999, 10_000_000, 2):
        (tmp_path / f'ckpt_{s:07d}.pt').write_bytes(b'')
    (tmp_path / 'ckpt_final.pt').write_bytes(b'')
    (tmp_path / 'ckpt_12.pt.bak').write_bytes(b'')
    assert [p.name for p in checkpoint_paths(tmp_path)] == ['ckpt_0000002.pt', 'ckpt_9999999.pt', 'ckpt_10000000.pt']


def test_second_trainer_is_refused_with_the_holders_pid_and_host(tmp_path):
    run = tmp_path / 'run'; run.mkdir()
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (run / '.lock').write_text(json.dumps({'pid': holder.pid, 'host': socket.gethostname(), 'since': 'now'}))
        with pytest.raises(RuntimeError, match=f'in use by another trainer \\(pid {holder.pid} on {socket.gethostname()}'):
            train(cfg(run, 2))
        assert checkpoint_paths(run) == [] and not (run / 'metrics.jsonl').exists()   # nothing written
    finally:
        holder.kill(); holder.wait()


def test_stale_lock_of_a_dead_process_is_taken_over_and_released(tmp_path):
    run = tmp_path / 'run'; run.mkdir()
    (run / '.lock').write_text(json.dumps({'pid': dead_pid(), 'host': socket.gethostname(), 'since': 'earlier'}))
    assert train(cfg(run, 2))['step'] == 2
    assert not (run / '.lock').exists()


def test_lock_is_exclusive_within_one_process(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RuntimeError, match='in use by another trainer'):
            RunLock(tmp_path).__enter__()
    assert not (tmp_path / '.lock').exists()


def test_failed_checkpoint_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def full_disk(obj, f):
        Path(f).write_bytes(b'partial')                            # half a file, then the disk is full
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(T.torch, 'save', full_disk)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint({'a': 1}, tmp_path, 3)
    assert list(tmp_path.iterdir()) == []


def test_temp_files_of_dead_writers_are_swept_at_start(tmp_path):
    run = tmp_path / 'run'; run.mkdir()
    orphan = run / f'.ckpt_0000002.pt.tmp{dead_pid()}'
    live = run / f'.ckpt_0000002.pt.tmp{os.getppid()}'               # a live process: not ours to delete
    orphan.write_bytes(b'x'); live.write_bytes(b'x')
    train(cfg(run, 2))
    assert not orphan.exists() and live.exists()


@pytest.fixture
def small_tmpfs(tmp_path):
    "A 1 MiB tmpfs (root only): too small for one checkpoint of the tiny model (about 2.3 MB)."
    if os.geteuid() != 0 or shutil.which('mount') is None:
        pytest.skip('mounting a small tmpfs needs root and mount(8); the full-disk path is still covered by the '
                    'monkeypatched test above')
    mnt = tmp_path / 'tmpfs'; mnt.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f'mount -t tmpfs refused here ({r.stderr.strip()}); the monkeypatched full-disk test still runs')
    yield mnt
    subprocess.run(['umount', str(mnt)], check=True)


def test_full_disk_message_and_no_partial_files(small_tmpfs, tmp_path):
    run = small_tmpfs / 'run'
    c = TrainConfig.char_tiny(out_dir=str(run), steps=2, ckpt_every=2, progress=False, sample_steps=2, n_samples=1,
                              cache_dir=str(tmp_path / 'cache'))
    with pytest.raises(OSError, match=r'Could not write checkpoint .*ckpt_0000002.pt: the disk is full \(\d+\.\d MiB free\)'):
        train(c)
    left = sorted(p.name for p in run.iterdir())
    assert not [n for n in left if n.startswith('.ckpt_') or n.startswith('ckpt_')], left   # no partial checkpoint
    assert '.lock' not in left                                                                  # the lock is released


def test_read_only_run_folder_is_one_cli_error(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('a read-only mount needs root (chmod does not stop root, so only a mount can show this case)')
    ro = tmp_path / 'ro'; ro.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', str(ro)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f'mount refused here ({r.stderr.strip()})')
    try:
        out = subprocess.run([sys.executable, '-c', 'from sedd_nb.cli import cli; cli()', 'train', '--preset', 'char_tiny', f'out_dir={ro}/run',
                              'steps=2'], capture_output=True, text=True)
    finally:
        subprocess.run(['umount', str(ro)], check=True)
    assert out.returncode == 2 and 'sedd_nb train: error:' in out.stderr and 'Read-only file system' in out.stderr, out.stderr
    assert 'Traceback' not in out.stderr
