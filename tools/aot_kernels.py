"""Compile every Triton kernel of `sedd_nb.kernels` ahead of time for real GPUs, on a machine without one.

    python tools/aot_kernels.py [--arch 80 90] [--jobs N]
    python tools/aot_kernels.py --sass        # instructions per element of each kernel's main loop

Triton's compiler and the `ptxas` inside the triton wheel need no GPU, so each kernel is compiled to a cubin for
every input dtype the dispatcher accepts and every (BLOCK, num_warps) it launches with, for each architecture, and
with the two sets of alignment facts a real launch can give Triton: 16-byte aligned pointers with rows at any
stride, or rows padded to a multiple of 16 elements (a model with `vocab_multiple`), which allows 16-byte accesses.
`cuobjdump --dump-resource-usage` (also in the wheel) then gives registers, shared memory and local memory per
kernel. Exit status 1 on a compile error or a register spill (STACK or LOCAL > 0: current ptxas puts spilled
registers in the stack frame), with the table printed either way.
Must run without TRITON_INTERPRET (the interpreter replaces the kernels by Python functions).
"""
import argparse, os, re, subprocess, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DTYPES = {'float32': 'fp32', 'bfloat16': 'bf16', 'float16': 'fp16'}
KERNELS = {'_dse_fwd_kernel': 'kernels', '_dse_bwd_kernel': 'kernels', '_absorb_fwd_kernel': 'kernels',
           '_absorb_bwd_kernel': 'kernels', '_draw_kernel': 'fused_draw'}     # kernel -> its sedd_nb module


def kernel_fn(name):
    "The @triton.jit function `name` from its module of sedd_nb."
    import importlib
    return getattr(importlib.import_module(f'sedd_nb.{KERNELS[name]}'), name)


def signatures(dtype):
    "Triton signatures of the kernels for log-score rows of `dtype` (coefficients, loss: float32; ids: int64)."
    t = DTYPES[dtype]
    fwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'coef_ptr': '*fp32', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
           'loss_ptr': '*fp32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    bwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'coef_ptr': '*fp32', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
           'gout_ptr': '*fp32', 'grad_ptr': f'*{t}', 'grad_stride': 'i32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    afwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'sig_ptr': '*fp64', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
            'loss_ptr': '*fp32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    abwd = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'sig_ptr': '*fp64', 'xt_ptr': '*i64', 'x0_ptr': '*i64',
            'gout_ptr': '*fp32', 'grad_ptr': f'*{t}', 'grad_stride': 'i32', 'dim': 'i32', 'BLOCK': 'constexpr'}
    draw = {'x_ptr': f'*{t}', 'x_stride': 'i32', 'rows_ptr': '*i64', 'u_ptr': '*fp64', 'inv_q_ptr': '*fp64',
            'sums_ptr': '*fp64', 'y_ptr': '*i64', 'total_ptr': '*fp64', 'V': 'i32', 'BLOCK': 'constexpr',
            'NB': 'constexpr'}
    return {'_dse_fwd_kernel': fwd, '_dse_bwd_kernel': bwd, '_absorb_fwd_kernel': afwd, '_absorb_bwd_kernel': abwd,
            '_draw_kernel': draw}


def launch_configs(name):
    "Every (constexprs, num_warps) the launcher of `name` picks, over all row lengths (and GPT-2's)."
    widths = [2 ** k for k in range(0, 18)] + [50257]
    if name == '_draw_kernel':
        from sedd_nb.fused_draw import _draw_config
        picked = {(B, NB, w) for B, NB, w in map(_draw_config, widths)}
        return [(dict(BLOCK=B, NB=NB), w) for B, NB, w in sorted(picked)]
    from sedd_nb.kernels import _launch_config
    return [(dict(BLOCK=B), w) for B, w in sorted({_launch_config(d) for d in widths})]


def cuobjdump(fn, signature, constexprs, warps, arch, flag, attrs=None):
    "Compile a @triton.jit `fn` for sm_`arch` and return what `cuobjdump FLAG` prints of its cubin."
    import tempfile, triton
    from triton.compiler import ASTSource
    from triton.backends.compiler import GPUTarget
    k = triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constexprs, attrs=attrs),
                       target=GPUTarget('cuda', arch, 32), options={'num_warps': warps, 'enable_fp_fusion': True})
    tool = Path(triton.__file__).parent/'backends'/'nvidia'/'bin'/'cuobjdump'
    with tempfile.NamedTemporaryFile(suffix='.cubin') as f:
        f.write(k.asm['cubin']); f.flush()
        return subprocess.run([str(tool), flag, f.name], capture_output=True, text=True, check=True).stdout


def resource_usage(fn, signature, constexprs, warps, arch, attrs=None):
    "Compile a @triton.jit `fn` for sm_`arch`; its REG/STACK/SHARED/LOCAL from cuobjdump, or {'error': ...}."
    try: out = cuobjdump(fn, signature, constexprs, warps, arch, '--dump-resource-usage', attrs)
    except Exception as e:                                   # a compile error is a result to report, not a crash
        return {'error': f'{type(e).__name__}: {str(e)[:300]}'}
    return {k: int(v) for k, v in re.findall(r'\b(REG|STACK|SHARED|LOCAL):(\d+)', out)}


BRANCH = re.compile(r'/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?BRA\s+(?:!?U?P\w+,\s*)?0x([0-9a-f]+)')


def loops(sass: str) -> list:
    "The loops in SASS text, as (instructions, instructions outside the blocks a conditional branch in it skips)."
    branches = [(int(a, 16), int(t, 16), bool(p)) for a, p, t in BRANCH.findall(sass)]
    found = []
    for a, t, _ in branches:
        if t >= a: continue                                    # forward branch, or a trap (a self-loop)
        skipped = sum((u - b) // 16 - 1 for b, u, cond in branches if cond and t <= b < u <= a)
        found.append(((a - t) // 16 + 1, (a - t) // 16 + 1 - skipped))   # 16 bytes an instruction
    return found


def launch_attrs(signature: dict, padded: bool) -> dict:
    "The alignment facts a real launch gives Triton: pointers 16-byte aligned; row strides divisible by 16 if `padded`."
    return {(i,): [['tt.divisibility', 16]] for i, (n, t) in enumerate(signature.items())
            if t.startswith('*') or (padded and n.endswith('_stride'))}


def instructions_per_element(name, dtype, padded=True, arch=90):
    "The kernel's longest loop at GPT-2's width: (instructions, per element, per element off the skipped blocks, 16-byte loads?)."
    consts, warps = max(launch_configs(name), key=lambda c: (c[0]['BLOCK'], c[0].get('NB', 0) == 64))
    block = consts['BLOCK']
    sig = signatures(dtype)[name]
    sass = cuobjdump(kernel_fn(name), sig, consts, warps, arch, '-sass', launch_attrs(sig, padded))
    n, common = max(loops(sass))
    per_thread = block / (32 * warps)                            # elements a thread handles per pass
    return n, n / per_thread, common / per_thread, 'LDG.E.128' in sass


def compile_one(case):
    "One (kernel, dtype, constexprs, warps, arch, padded rows?) of sedd_nb's kernels, with its resource usage."
    name, dtype, consts, warps, arch, padded = case
    sig = signatures(dtype)[name]
    return case, resource_usage(kernel_fn(name), sig, dict(consts), warps, arch, launch_attrs(sig, padded))


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
        print(f"main loop of each kernel (its launch at GPT-2's width, sm_{a.arch[-1]}): instructions, per element, per element "
              f"where a conditional branch skips a block, 16-byte loads; rows at any stride / padded to 16 elements")
        print(f"{'kernel':19s} {'dtype':9s} {'stride':7s} {'loop':>5s} {'/elem':>6s} {'skip':>6s} wide")
        for n in KERNELS:
            for d in ('float32', 'bfloat16'):
                for padded in (False, True):
                    k, per, common, wide = instructions_per_element(n, d, padded, arch=a.arch[-1])
                    print(f"{n:19s} {d:9s} {'padded' if padded else 'any':7s} {k:5d} {per:6.1f} {common:6.1f} "
                          f"{'yes' if wide else 'no'}")
        return 0
    cases = [(n, d, tuple(c.items()), w, arch, padded) for arch in a.arch for n in KERNELS for d in DTYPES
             for c, w in launch_configs(n) for padded in (False, True)]
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = list(ex.map(compile_one, cases))
    bad = 0
    print(f"{'kernel':19s} {'dtype':9s} {'BLOCK':>5s} {'warps':>5s} {'sm':>3s} {'rows':6s} {'REG':>4s} {'SHARED':>6s} "
          f"{'STACK':>5s} {'LOCAL':>5s}")
    for (n, d, c, w, arch, padded), r in results:
        rows, b = 'padded' if padded else 'any', dict(c)['BLOCK']
        if 'error' in r:
            bad += 1; print(f"{n:19s} {d:9s} {b:5d} {w:5d} {arch:3d} {rows:6s}  COMPILE ERROR {r['error']}"); continue
        spill = r.get('LOCAL', 0) > 0 or r.get('STACK', 0) > 0     # ptxas reports spills as stack frame
        bad += spill
        print(f"{n:19s} {d:9s} {b:5d} {w:5d} {arch:3d} {rows:6s} {r.get('REG', -1):4d} {r.get('SHARED', -1):6d} "
              f"{r.get('STACK', -1):5d} {r.get('LOCAL', -1):5d}{'  SPILLS' if spill else ''}")
    print(f"aot: {len(results) - bad} of {len(results)} kernel builds compiled without spills "
          f"(sm_{', sm_'.join(map(str, a.arch))})")
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
