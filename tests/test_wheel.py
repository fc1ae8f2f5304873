"The package outside its clone: a wheel built from the sources, installed in a fresh virtual environment in a temporary folder, runs `sedd_nb --version`, the main job's `train` (a few steps) and `sample` there."
import os, shutil, subprocess, sys, sysconfig, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def test_wheel_in_a_fresh_venv(tmp_path):
    t0 = time.time()
    src = tmp_path / 'src'                     # what a wheel is built from, copied: the build writes nothing in the clone
    src.mkdir()
    for name in ('pyproject.toml', 'README.md'): shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / 'sedd_nb', src / 'sedd_nb', ignore=shutil.ignore_patterns('__pycache__'))
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env['OMP_NUM_THREADS'] = '1'
    # the installed setuptools builds it (no build isolation: nothing downloaded); torch and the other dependencies
    # come from the environment running this test (a .pth line naming its site-packages, which works inside CI's venv
    # too), so the new venv holds sedd_nb alone, and that environment's own sedd_nb (an editable install) stays out
    run([sys.executable, '-m', 'pip', 'wheel', src, '--no-deps', '--no-build-isolation', '-q', '-w', tmp_path / 'dist'],
        tmp_path, env)
    wheel, = (tmp_path / 'dist').glob('sedd_nb-*.whl')
    venv = tmp_path / 'venv'
    run([sys.executable, '-m', 'venv', '--without-pip', venv], tmp_path, env)
    py, exe = venv / 'bin' / 'python', venv / 'bin' / 'sedd_nb'
    site = Path(run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], tmp_path, env).stdout.strip())
    (site / 'deps_of_the_test_env.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    run([py, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', wheel], tmp_path, env)   # pip, too, through the .pth
    built = time.time() - t0
    work = tmp_path / 'elsewhere'                # a folder with nothing of the repository in it
    work.mkdir()
    where = run([py, '-c', 'import sedd_nb; print(sedd_nb.__file__)'], work, env).stdout.strip()
    assert Path(where).is_relative_to(venv), f'sedd_nb was imported from {where}, not from the wheel in {venv}'
    from sedd_nb import __version__
    assert run([exe, '--version'], work, env).stdout.strip() == f'sedd_nb {__version__}'
    r = run([exe, 'train', '--preset', 'char_tiny', 'steps=2', 'warmup=1', 'ckpt_every=2', 'cache_dir=cache',
             'sample_steps=2', 'n_samples=1', 'progress=false'], work, env)
    assert 'done: runs/char_tiny step 2' in r.stdout and 'bits/char' in r.stdout
    r = run([exe, 'sample', '--ckpt', 'runs/char_tiny', '--n', 1, '--steps', 4, '--prompt', 'The '], work, env)
    assert r.stdout.startswith('---\nThe ')
    print(f"wheel built and installed in a fresh venv in {built:.1f} s; --version, train and sample there: "
          f"{time.time() - t0 - built:.1f} s")
