"""Compile every Triton kernel of `sedd_nb.kernels` ahead of time for real GPUs, on a machine without one.

    python tools/aot_kernels.py [--arch 80 90] [--jobs N]

Triton's compiler and the `ptxas` inside the triton wheel need no GPU, so each kernel is compiled to a cubin for
every input dtype the dispatcher accepts and every (BLOCK, num_warps) it launches with, for each architecture.
`cuobjdump --dump-resource-usage` (also in the wheel) then gives registers, shared memory and local memory per
kernel. Exit status 1 on a compile error or a register spill (STACK or LOCAL > 0: current ptxas puts spilled
registers in the stack frame), with the table printed either way.
Must run without TRITON_INTERPRET (the interpreter replaces the kernels by Python functions).
"""
import argparse, os, re, subprocess, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DTYPES = {'float32': 'fp32', 'bfloat16': 'bf16', 'float16': 'fp16'}
KERNELS = ('_dse_fwd_kernel', '_dse_bwd_kernel', '_absorb_fwd_kernel', '_absorb_bwd_kernel')


def signatures(dtype):
    "Triton signatures of the two kernels for log-score rows of `dtype` (coefficients, loss: float32; ids: int64)."
    t = DTYPES[dtype]
    fwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'coef_ptr': '*fp32', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
           'loss_ptr': '*fp32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    bwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'coef_ptr': '*fp32', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
           'gout_ptr': '*fp32', 'grad_ptr': f'*{t}', 'grad_stride': 'i32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    afwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'sig_ptr': '*fp64', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
            'loss_ptr': '*fp32', 'n_data': 'i32', 'BLOCK': 'constexpr'}
    abwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'sig_ptr': '*fp64', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
            'gout_ptr': '*fp32', 'grad_ptr': f'*{t}', 'grad_stride': 'i32', 'n_data': 'i32', 'dim': 'i32',
            'BLOCK': 'constexpr'}
    return {'_dse_fwd_kernel': fwd, '_dse_bwd_kernel': bwd, '_absorb_fwd_kernel': afwd, '_absorb_bwd_kernel': abwd}


def launch_configs():
    "Every (BLOCK, num_warps) the launchers pick, over all row lengths (BLOCK saturates at 4096)."
    from sedd_nb.kernels import _launch_config
    return sorted({_launch_config(d) for d in [2 ** k for k in range(0, 17)]})


def cuobjdump(fn, signature, constexprs, warps, arch, flag):
    "Compile a @triton.jit `fn` for sm_`arch` and return what `cuobjdump FLAG` prints of its cubin."
    import tempfile, triton
    from triton.compiler import ASTSource
    from triton.backends.compiler import GPUTarget
    k = triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constexprs),
                       target=GPUTarget('cuda', arch, 32), options={'num_warps': warps})
    tool = Path(triton.__file__).parent/'backends'/'nvidia'/'bin'/'cuobjdump'
    with tempfile.NamedTemporaryFile(suffix='.cubin') as f:
        f.write(k.asm['cubin']); f.flush()
        return subprocess.run([str(tool), flag, f.name], capture_output=True, text=True, check=True).stdout


def resource_usage(fn, signature, constexprs, warps, arch):
    "Compile a @triton.jit `fn` for sm_`arch`; its REG/STACK/SHARED/LOCAL from cuobjdump, or {'error': ...}."
    try: out = cuobjdump(fn, signature, constexprs, warps, arch, '--dump-resource-usage')
    except Exception as e:                                   # a compile error is a result to report, not a crash
        return {'error': f'{type(e).__name__}: {str(e)[:300]}'}
    return {k: int(v) for k, v in re.findall(r'\b(REG|STACK|SHARED|LOCAL):(\d+)', out)}


def loops(sass: str) -> list:
    "Instruction counts of the loops in SASS text: each backward branch, from its target to itself."
    found = []
    for addr, target in re.findall(r'/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?BRA\s+(?:!?U?P\w+,\s*)?0x([0-9a-f]+)', sass):
        a, t = int(addr, 16), int(target, 16)
        if t < a: found.append((a - t) // 16 + 1)                # 16 bytes an instruction; self-loops (t == a) are traps
    return found


def instructions_per_element(name, dtype, block=4096, warps=8, arch=90):
    "Instructions of the kernel's longest loop per element it handles (BLOCK / (32 warps) elements a thread per pass)."
    from sedd_nb import kernels
    sass = cuobjdump(getattr(kernels, name), signatures(dtype)[name], {'BLOCK': block}, warps, arch, '-sass')
    n = max(loops(sass))
    return n, n / (block / (32 * warps))


def compile_one(case):
    "One (kernel, dtype, BLOCK, warps, arch) of `sedd_nb.kernels`, with its resource usage."
    name, dtype, block, warps, arch = case
    from sedd_nb import kernels
    return case, resource_usage(getattr(kernels, name), signatures(dtype)[name], {'BLOCK': block}, warps, arch)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--arch', type=int, nargs='+', default=[80, 90], help='compute capabilities (80 = A100, 90 = H100)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count(), help='compiles in parallel')
    ap.add_argument('--sass', action='store_true', help='only: instructions per element of each kernel\'s main loop')
    a = ap.parse_args(argv)
    if os.environ.get('TRITON_INTERPRET'):
        sys.exit('aot_kernels: unset TRITON_INTERPRET (the interpreter replaces the kernels; nothing to compile)')
    try: import triton  # noqa: F401
    except ImportError: sys.exit('aot_kernels: triton is not installed (it ships for Linux)')
    if a.sass:
        print(f"{'kernel':19s} {'dtype':9s} loop instructions, per element (BLOCK 4096, 8 warps, sm_{a.arch[-1]})")
        for n in KERNELS:
            for d in ('float32', 'bfloat16'):
                k, per = instructions_per_element(n, d, arch=a.arch[-1])
                print(f"{n:19s} {d:9s} {k:5d} {per:6.1f}")
        return 0
    cases = [(n, d, b, w, arch) for arch in a.arch for n in KERNELS for d in DTYPES for b, w in launch_configs()]
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = list(ex.map(compile_one, cases))
    bad = 0
    print(f"{'kernel':19s} {'dtype':9s} {'BLOCK':>5s} {'warps':>5s} {'sm':>3s} {'REG':>4s} {'SHARED':>6s} "
          f"{'STACK':>5s} {'LOCAL':>5s}")
    for (n, d, b, w, arch), r in results:
        if 'error' in r:
            bad += 1; print(f"{n:19s} {d:9s} {b:5d} {w:5d} {arch:3d}  COMPILE ERROR {r['error']}"); continue
        spill = r.get('LOCAL', 0) > 0 or r.get('STACK', 0) > 0     # ptxas reports spills as stack frame
        bad += spill
        print(f"{n:19s} {d:9s} {b:5d} {w:5d} {arch:3d} {r.get('REG', -1):4d} {r.get('SHARED', -1):6d} "
              f"{r.get('STACK', -1):5d} {r.get('LOCAL', -1):5d}{'  SPILLS' if spill else ''}")
    print(f"aot: {len(results) - bad} of {len(results)} kernel builds compiled without spills "
          f"(sm_{', sm_'.join(map(str, a.arch))})")
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
