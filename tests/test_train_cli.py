"Smoke test of the `sedd_nb` console script: train a few steps, then sample with a prompt and a suffix."
import os, shutil, subprocess, sys


def _cmd():
    exe = shutil.which('sedd_nb')
    return [exe] if exe else [sys.executable, '-c', 'from sedd_nb.cli import cli; cli()']


def test_cli_train_then_sample(tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    run = tmp_path / 'run'
    r = subprocess.run(_cmd() + ['train', '--preset', 'char_tiny', 'steps=5', f'out_dir={run}', f'cache_dir={tmp_path}/cache',
                                 'progress=false', 'sample_steps=4'], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'done:' in r.stdout and (run / 'ckpt_0000005.pt').exists() and (run / 'loss.png').exists()
    r = subprocess.run(_cmd() + ['sample', '--ckpt', str(run), '--steps', '4', '--prompt', 'def ', '--suffix', ' x.',
                                 '--n', '2', '--length', '24'], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('---\ndef ') == 2 and r.stdout.count(' x.\n') >= 2, r.stdout
    # opt-in nucleus sampling through the command line; a top-p outside (0, 1] is refused with a message
    r = subprocess.run(_cmd() + ['sample', '--ckpt', str(run), '--steps', '4', '--prompt', 'def ', '--n', '2',
                                 '--length', '24', '--top-p', '0.9'], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.count('---\ndef ') == 2, r.stderr[-3000:]
    r = subprocess.run(_cmd() + ['sample', '--ckpt', str(run), '--steps', '4', '--top-p', '1.5'], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'top_p must be in (0, 1]' in r.stderr, r.stderr[-3000:]


def test_cli_reports_bad_override(tmp_path):
    r = subprocess.run(_cmd() + ['train', '--preset', 'char_tiny', 'stpes=5', f'out_dir={tmp_path}'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Did you mean 'steps'" in r.stderr, r.stderr
