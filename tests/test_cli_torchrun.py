"`torchrun -m sedd_nb train`, as the README shows it, with two gloo processes on CPU: one run directory, written by rank 0 only, resumable under torchrun, its TensorBoard curves continued."
import json, logging, os, subprocess, sys

import pytest
import torch.distributed as dist


def torchrun(*argv, cwd):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'): env.pop(k, None)
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                           '-m', 'sedd_nb', *map(str, argv)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason='needs torch.distributed with gloo')
def test_torchrun_cli_one_run_dir_rank0_writes_and_resumes(tmp_path):
    tb = pytest.importorskip('tensorboard.backend.event_processing.event_accumulator')
    logging.getLogger('tensorboard').setLevel(logging.ERROR)
    args = ['train', '--preset', 'char_tiny', 'out_dir=run', 'cache_dir=cache', 'batch_size=8', 'ckpt_every=2',
            'log_every=1', 'eval_every=2', 'sample_steps=2', 'n_samples=1', 'progress=false', 'log_to=tensorboard']
    r = torchrun(*args, 'steps=4', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('done: run step 4') == 1                 # the last line, from rank 0 only
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cache', 'run']
    run = tmp_path / 'run'
    assert sorted(p.name for p in run.glob('ckpt_*.pt')) == ['ckpt_0000002.pt', 'ckpt_0000004.pt']
    r = torchrun(*args, 'steps=6', cwd=tmp_path)                    # resumed from step 4, under torchrun again
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'done: run step 6' in r.stdout
    recs = [json.loads(l) for l in (run / 'metrics.jsonl').read_text().splitlines()]
    assert [x['step'] for x in recs if 'loss_bits_tok' in x] == [1, 2, 3, 4, 5, 6]   # one writer: no line twice
    assert [x['step'] for x in recs if 'val_bpt' in x] == [2, 4, 6]
    assert {x['unit'] for x in recs if 'unit' in x} == {'bits/char'}
    assert 'bits/token' not in r.stdout + r.stderr                  # one unit in what the run prints
    assert len(list((run / 'tensorboard').glob('events.out.tfevents.*'))) == 2   # one writer per launch: rank 0's
    acc = tb.EventAccumulator(str(run / 'tensorboard')); acc.Reload()
    assert [e.step for e in acc.Scalars('train/loss_bits_per_char')] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in acc.Scalars('eval/heldout_bits_per_char')] == [2, 4, 6]
