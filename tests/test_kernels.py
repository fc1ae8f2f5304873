"""Triton DSE kernels under the CPU interpreter, beyond the notebook's cases.

Triton reads TRITON_INTERPRET when it is first imported, and other tests in this process may have imported
it already, so each check runs in a fresh `python -c` subprocess with the environment it needs.
"""
import importlib.util, os, subprocess, sys, textwrap

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec('triton') is None,
                                reason='triton is not installed (it ships for Linux only)')


def run_py(code: str, interpret: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    if interpret: env['TRITON_INTERPRET'] = '1'
    env['CUDA_VISIBLE_DEVICES'] = ''                    # the CPU path, also on a GPU machine
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_force_triton_without_interpreter_says_how_to_fix():
    r = run_py("""
        import torch
        from sedd_nb.graphs import Uniform
        from sedd_nb.kernels import fused_score_entropy
        g = Uniform(5); x = torch.zeros(3, dtype=torch.long)
        try:
            fused_score_entropy(torch.randn(3, 5), 0.5, x, x, g, force_triton=True)
        except RuntimeError as e:
            assert 'TRITON_INTERPRET=1' in str(e), e
            print('raised')
        # without force_triton the CPU path is the reference and needs no triton at all
        torch.testing.assert_close(fused_score_entropy(torch.randn(3, 5, generator=torch.Generator().manual_seed(0)),
                                                       0.5, x, x, g),
                                   g.score_entropy(torch.randn(3, 5, generator=torch.Generator().manual_seed(0)),
                                                   0.5, x, x))
        """, interpret=False)
    assert r.returncode == 0, r.stderr
    assert 'raised' in r.stdout


def test_random_shapes_dtypes_and_block_boundaries():
    "Many dims (around the block size too), both graphs, fp32/bf16/fp16, leading dims (B, L), sigma per sequence."
    r = run_py("""
        import torch
        from sedd_nb.graphs import Absorbing, Uniform
        from sedd_nb.kernels import fused_score_entropy, score_entropy_eager
        gen = torch.Generator().manual_seed(1)
        worst = 0.
        cases = [(Absorbing(1), torch.float32), (Uniform(2), torch.float16), (Absorbing(16), torch.bfloat16),
                 (Uniform(17), torch.float32), (Absorbing(128), torch.float32), (Uniform(129), torch.bfloat16),
                 (Absorbing(4096), torch.float32), (Uniform(4097), torch.float32), (Absorbing(50257), torch.bfloat16)]
        for graph, dt in cases:
            B, L = 2, 3
            V = graph.dim - 1 if graph.absorb else graph.dim
            ls = (3 * torch.randn(B, L, graph.dim, generator=gen)).to(dt)
            sigma = torch.exp(torch.empty(B, dtype=torch.float64).uniform_(-12, 3.5, generator=gen))   # (B,)
            x0 = torch.randint(0, V, (B, L), generator=gen)
            other = torch.full_like(x0, V) if graph.absorb else torch.randint(0, V, (B, L), generator=gen)
            xt = torch.where(torch.rand(B, L, generator=gen) < 0.5, x0, other)
            x = ls.clone().requires_grad_(True)
            out = fused_score_entropy(x, sigma, xt, x0, graph, force_triton=True)
            r64 = ls.double().requires_grad_(True)
            ref = graph.score_entropy(r64, sigma, xt, x0)
            assert torch.allclose(ref, score_entropy_eager(r64, sigma, xt, x0, graph), rtol=1e-9, atol=1e-9)
            g = torch.rand(B, L, dtype=torch.float64, generator=gen)
            (gx,) = torch.autograd.grad(out, x, g.float())
            (gr,) = torch.autograd.grad(ref, r64, g)
            ef = ((out.double() - ref) .abs() / (1 + ref.abs())).max().item()
            eg = ((gx.double() - gr).abs() / (1 + gr.abs())).max().item()
            tol_g = 1e-5 if dt == torch.float32 else 2 ** -7 if dt == torch.bfloat16 else 2 ** -10
            assert ef < 1e-5 and eg < tol_g, (graph, dt, ef, eg)
            assert gx.dtype == dt and out.dtype == torch.float32 and out.shape == (B, L)
            worst = max(worst, ef)
        print('worst forward rel err', worst)
        """, interpret=True)
    assert r.returncode == 0, r.stderr[-3000:]
