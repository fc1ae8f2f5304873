"Kill a training run right after its step-10 checkpoint, resume it, and get bit-for-bit the weights of an uninterrupted run."
import json, os, signal, subprocess, sys, textwrap
from pathlib import Path

import torch

from sedd_nb.checkpoint import state_diff

SCRIPT = textwrap.dedent('''
    import sys, time, torch
    torch.set_num_threads(1)
    from sedd_nb.train import TrainConfig, train
    out, cache, hang = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def hook(event, step=None, checkpoint=None, **kw):
        if event == 'after_step' and step == hang and checkpoint is not None:
            print('CHECKPOINT', checkpoint, flush=True)
            time.sleep(600)                              # wait here to be killed
    cfg = TrainConfig.char_tiny(out_dir=out, cache_dir=cache, steps=20, ckpt_every=10, keep_last=5, progress=False,
                                ema=0.9, sample_steps=4, n_samples=1)
    train(cfg, hook=hook)
''')


def _env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONHASHSEED': '0'}


def _run(script, out, cache, hang=-1):
    r = subprocess.run([sys.executable, str(script), str(out), str(cache), str(hang)], env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def test_resume_after_sigkill_is_bitwise_identical(tmp_path):
    script = tmp_path / 'run.py'
    script.write_text(SCRIPT)
    cache = tmp_path / 'cache'
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    _run(script, straight, cache)                                        # 20 steps in one go

    p = subprocess.Popen([sys.executable, str(script), str(killed), str(cache), '10'], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()                                       # blocks until the step-10 checkpoint exists
        assert line.startswith('CHECKPOINT'), (line, p.stderr.read()[-3000:] if p.poll() is not None else '')
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert p.returncode == -signal.SIGKILL
    assert sorted(f.name for f in killed.glob('ckpt_*.pt')) == ['ckpt_0000010.pt']
    assert not list(killed.glob('.ckpt*')), 'a temporary checkpoint file was left behind'

    with open(killed / 'metrics.jsonl', 'a') as f:                     # what a crash between checkpoints leaves behind
        f.write('{"step": 12, "loss_bits_tok": 999.0}\n')
    _run(script, killed, cache)                                          # resumes at step 10, runs 10 more
    # the log is the uninterrupted run's: the stale line is gone, every step is logged once, with the same losses
    read = lambda d: [json.loads(l) for l in (d / 'metrics.jsonl').read_text().splitlines()]
    key = lambda rs: [(r['step'], r.get('loss_bits_tok'), r.get('val_bpt')) for r in rs]
    assert key(read(killed)) == key(read(straight)), (key(read(killed)), key(read(straight)))
    a = torch.load(straight / 'ckpt_0000020.pt', weights_only=True)
    b = torch.load(killed / 'ckpt_0000020.pt', weights_only=True)
    assert a['step'] == b['step'] == 20
    parts = ('model', 'ema', 'optimizer', 'rng', 'shards')   # weights, EMA, moments and groups, every generator, loaders
    assert state_diff({p: a[p] for p in parts}, {p: b[p] for p in parts}) == []
    # the run really trained: the weights moved away from the step-10 ones
    c = torch.load(killed / 'ckpt_0000010.pt', weights_only=True)
    assert any(not torch.equal(c['model'][k], b['model'][k]) for k in b['model'])
