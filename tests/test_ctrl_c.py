"""Ctrl-C ends `sedd_nb train` and `sedd_nb sample` with one line (for train: where the run stands and the command
that resumes it), never a traceback."""
import os, signal, subprocess, sys, time
from pathlib import Path

from tqdm import tqdm

import sedd_nb.cli as C
from conftest import cli

CMD = [sys.executable, '-c', 'from sedd_nb.cli import cli; cli()']


def test_ctrl_c_during_train_prints_the_resume_command(tmp_path):
    run = tmp_path / 'run'
    args = ['train', '--preset', 'char_tiny', 'steps=100000', 'warmup=5', f'out_dir={run}', 'ckpt_every=2',
            f'cache_dir={tmp_path}/cache', 'progress=false']
    p = subprocess.Popen(CMD + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    deadline = time.time() + 120
    while not list(run.glob('ckpt_*.pt')) and time.time() < deadline and p.poll() is None: time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and 'Traceback' not in err, err[-3000:]
    last = err.strip().splitlines()
    assert len(last) == 1 and 'stopped (Ctrl-C); its last checkpoint is step' in last[0], err[-3000:]
    assert 'Run the same command to resume: sedd_nb train --preset char_tiny steps=100000' in last[0]
    assert not (run / '.lock').exists()


def test_ctrl_c_during_sample_is_one_line_after_the_progress_bar(tiny_run, monkeypatch):
    def interrupted(*a, **kw):
        bar = tqdm(range(10), desc='sampling')                       # left open, as an interrupted loop leaves it
        bar.update(3)
        raise KeyboardInterrupt
    monkeypatch.setattr(C, 'sample_texts', interrupted)
    code, out, err = cli('sample', '--ckpt', tiny_run, '--n', 1, '--steps', 2)
    assert code == 130 and err.strip().splitlines()[-1] == 'sedd_nb sample: stopped (Ctrl-C); nothing was written.', err
