"""The Triton kernels compiled ahead of time for sm_80 and sm_90 on this CPU machine (no GPU needed), with no
register spills (stack frame or local memory); and the spill check shown to catch a kernel that does spill."""
import importlib.util, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(importlib.util.find_spec('triton') is None,
                                reason='triton is not installed (it ships for Linux only)')


def env():
    e = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}   # compiled, not interpreted
    e['PYTHONPATH'] = str(ROOT/'tools')
    return e


def test_every_kernel_dtype_and_block_compiles_without_spills():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'aot_kernels.py')], env=env(), capture_output=True,
                       text=True, timeout=900)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    # 4 kernels x 3 dtypes x 9 launch configurations (BLOCK 16 to 4096) x 2 architectures
    assert 'aot: 216 of 216 kernel builds compiled without spills (sm_80, sm_90)' in r.stdout


def test_absorbing_kernels_spend_a_third_of_the_instructions_per_element():
    "The loops of the compiled sm_90 code: the absorbing graph's kernels against the general ones, per element."
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'aot_kernels.py'), '--sass'], env=env(), capture_output=True,
                       text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    per = {(k, d): float(e) for k, d, _, e in (l.split() for l in r.stdout.splitlines()[1:] if l.startswith('_'))}
    assert len(per) == 8, per
    for d in ('float32', 'bfloat16'):
        for part in ('fwd', 'bwd'):
            general, absorbing = per[(f'_dse_{part}_kernel', d)], per[(f'_absorb_{part}_kernel', d)]
            assert absorbing < 17 and absorbing < general / 2.5, (d, part, general, absorbing)
