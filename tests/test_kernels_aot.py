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
    # 2 kernels x 3 dtypes x 9 launch configurations (BLOCK 16 to 4096) x 2 architectures
    assert 'aot: 108 of 108 kernel builds compiled without spills (sm_80, sm_90)' in r.stdout


def test_spill_check_catches_a_spilling_kernel(tmp_path):
    "A kernel keeping 16k float32 values live per program in one warp cannot fit in registers: a spill is reported."
    (tmp_path/'spill.py').write_text(textwrap.dedent('''
        import triton, triton.language as tl
        from aot_kernels import resource_usage

        @triton.jit
        def hog(x_ptr, out_ptr, BLOCK: tl.constexpr):
            cols = tl.arange(0, BLOCK)
            x = tl.load(x_ptr + cols)
            s = tl.sum(tl.exp(x), axis=0)          # the whole block stays live until the sum is known
            tl.store(out_ptr + cols, x / s)

        use = resource_usage(hog, {'x_ptr': '*fp32', 'out_ptr': '*fp32', 'BLOCK': 'constexpr'}, {'BLOCK': 16384}, 1, 90)
        print(use)
        assert 'error' not in use and use['STACK'] + use['LOCAL'] > 0, use
        '''))
    r = subprocess.run([sys.executable, str(tmp_path/'spill.py')], env=env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
