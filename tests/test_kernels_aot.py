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
    # (4 loss kernels x 9 launch configurations (BLOCK 16 to 4096) + the sampler's draw kernel x 14 (BLOCK 16 to
    # 1024, up to 128 blocks)) x 3 dtypes x 2 row layouts x 2 architectures
    assert 'aot: 600 of 600 kernel builds compiled without spills (sm_80, sm_90)' in r.stdout


def test_absorbing_kernels_on_padded_rows_spend_few_instructions_per_element():
    """The main loops of the compiled sm_90 code, per element: the absorbing graph's kernels on rows padded to 16
    elements load 16 bytes at a time and spend a few instructions an element (one of them the exponential) where the
    general kernels spend about 40; at an unpadded stride the same loops load element by element."""
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'aot_kernels.py'), '--sass'], env=env(), capture_output=True,
                       text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith('_')]
    per = {(k, d, s): (float(e), float(c), w == 'yes') for k, d, s, _, e, c, w in rows}
    assert len(per) == 20, per
    for d in ('float32', 'bfloat16'):
        for part, most in (('fwd', 6.0), ('bwd', 7.5)):
            general = per[(f'_dse_{part}_kernel', d, 'padded')][0]
            loop, common, wide = per[(f'_absorb_{part}_kernel', d, 'padded')]
            assert wide and common < most and loop < general / 4, (d, part, general, loop, common)
            assert not per[(f'_absorb_{part}_kernel', d, 'any')][2]      # no 16-byte loads without the padding
        loop, common, wide = per[('_draw_kernel', d, 'padded')]           # the sampler's one pass over a row
        assert wide and common < 12, (d, loop, common)
