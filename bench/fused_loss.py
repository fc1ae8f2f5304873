"""Fused score-entropy loss vs the PyTorch reference: time (forward + backward), peak extra memory, bandwidth.

    python bench/fused_loss.py                       # GPU: N in {4096, 16384}, dim = 50258; CPU: correctness only
    python bench/fused_loss.py --dtype bfloat16 --graph uniform --peak-bw 3.35 --n 4096

Rows (all measured in this process, on the same inputs):
  eager          graph.score_entropy (the package's PyTorch reference)
  eager dense    sedd_nb.kernels.score_entropy_eager (the formula term by term, one (N, dim) tensor per symbol)
  compiled       torch.compile(graph.score_entropy)
  fused          sedd_nb.kernels.fused_score_entropy (Triton forward + backward), rows at the stride dim
  fused padded   the same on rows padded to a multiple of 64 in memory, as chapter 8's model returns them
                 (`vocab_multiple`): the kernels load and store 16 bytes at a time; `fused` is its switch-off
  eager proj     hidden @ weight + bias -> log_score_from_logits -> graph.score_entropy
  fused proj     sedd_nb.fused_linear.fused_linear_score_entropy (chunked projection + Triton loss)
Time and memory are ratios to `eager` (loss rows) or to `eager proj` (projection rows). Peak extra memory is
the peak allocated during one forward + backward minus what was allocated before (inputs), so it includes
the (N, dim) gradient itself.

The bandwidth floor of a row is the traffic its design cannot avoid (`min_bytes`) divided by the device's peak
memory bandwidth: no implementation of that design can be faster. Loss rows on stored log-scores read them
twice (forward, backward) and write the gradient once: 3 N dim elements. The absorbing graph's fused kernels
read only the rows whose token is masked (a fraction m of them, about 1/2 under the log-linear schedule) and write
every row of the gradient (zeros where unmasked): their floor counts (2 m + 1) N dim elements. The unfused projection writes its logits,
reads them for the loss and again for its gradient, writes that and reads it once for the two matmuls: 5 N dim.
The fused projection (as written: chunks of logits in global memory, recomputed in the backward) writes and
reads each chunk's logits twice and its gradient once: 6 N dim, trading traffic for memory; both projections
also read hidden (N D) and the weight (D dim) three times. `of floor` = floor / measured time.
Without a GPU the script checks correctness at small sizes, then prints the bytes, the floors on a few GPUs of
the table below and the peak extra memory of each row at N = 16384 (fused rows: analytic; the PyTorch rows:
measured as the peak RSS of a fresh CPU process at N = 512, scaled by N), so the first GPU run has targets.
"""
import argparse, math, os, sys, time

import torch

if not torch.cuda.is_available():               # the Triton interpreter must be chosen before triton is imported
    os.environ.setdefault('TRITON_INTERPRET', '1')

from sedd_nb.graphs import Absorbing, Uniform
from sedd_nb.kernels import score_entropy_eager, fused_score_entropy, triton
from sedd_nb.fused_linear import fused_linear_score_entropy, log_score_from_logits

# Peak memory bandwidth in bytes/s by device-name substring (first match wins; vendor data sheets).
PEAK_BW = [('H200', 4.8e12), ('H100 PCIe', 2.0e12), ('H100 NVL', 3.9e12), ('H100', 3.35e12), ('GH200', 4.0e12),
           ('A100-SXM4-80GB', 2.039e12), ('A100 80GB PCIe', 1.935e12), ('A100', 1.555e12), ('L40S', 0.864e12),
           ('L4', 0.3e12), ('A10G', 0.6e12), ('A10', 0.6e12), ('4090', 1.008e12), ('3090', 0.936e12), ('V100', 0.9e12),
           ('T4', 0.32e12)]


def peak_bandwidth(name: str, override_tbps: float | None) -> float | None:
    "Bytes/s of the device: the --peak-bw override (TB/s) or the table above; None when unknown."
    if override_tbps: return override_tbps * 1e12
    for key, bw in PEAK_BW:
        if key in name: return bw
    return None


def min_bytes(key, N, dim, elem, D=768, elem_proj=2, masked=None):
    "Bytes a row's design must move for one forward + backward (see the module docstring)."
    if key.startswith('fused') and 'proj' not in key and masked is not None:
        return (2 * masked + 1) * N * dim * elem                                           # absorbing kernels
    if 'proj' not in key: return 3 * N * dim * elem
    operands = 3 * (N * D + D * dim) * elem_proj
    return (6 if key == 'fused proj' else 5) * N * dim * elem_proj + operands


def fused_peak_bytes(key, N, dim, elem, D=768, elem_proj=2):
    "Peak extra memory of the fused rows by construction: what they allocate beyond their inputs."
    if 'proj' not in key: return N * dim * elem + N * (9 * 4 + 4)      # the gradient, coefficients and loss
    chunk = max(1, 2 ** 26 // dim)                                         # fused_linear_score_entropy's default
    return 2 * min(chunk, N) * dim * elem_proj + (N * D + D * dim) * 4 + N * (9 * 4 + 4)  # a chunk's logits and
                                                                           # gradient, float32 grad accumulators


def padded_rows(x: torch.Tensor, multiple: int = 64) -> torch.Tensor:
    "A copy of rows `x` (N, dim) whose rows start every `multiple` elements in memory (a view of wider rows)."
    width = -(-x.shape[1] // multiple) * multiple
    return x.new_zeros(x.shape[0], width)[:, :x.shape[1]].copy_(x)


def make_inputs(graph, N, dtype, device, D=768, seed=0):
    "Random log-scores (N, dim), sigma (N,), tokens, and a projection (hidden (N, D), weight (D, dim), bias)."
    gen = torch.Generator(device=device).manual_seed(seed)
    dim = graph.dim; V = dim - 1 if graph.absorb else dim
    ls = torch.randn(N, dim, device=device, dtype=dtype, generator=gen)
    t = torch.rand(N, device=device, generator=gen, dtype=torch.float64)
    sigma = -torch.log1p(-(1 - 1e-3) * t)                             # log-linear schedule
    x0 = torch.randint(0, V, (N,), device=device, generator=gen)
    if graph.absorb:
        xt = torch.where(torch.rand(N, device=device, generator=gen) < -torch.expm1(-sigma), graph.dim - 1, x0)
    else:
        xt = torch.where(torch.rand(N, device=device, generator=gen) < -torch.expm1(-sigma),
                         torch.randint(0, V, (N,), device=device, generator=gen), x0)
    pdt = torch.bfloat16 if device == 'cuda' else torch.float32
    h = torch.randn(N, D, device=device, generator=gen).to(pdt)
    W = (torch.randn(D, dim, device=device, generator=gen) / math.sqrt(D)).to(pdt)
    b = (torch.randn(dim, device=device, generator=gen) * 0.1).to(pdt)
    return ls, sigma, xt, x0, h, W, b


def time_fwd_bwd(fn, inputs, iters=10, warmup=3):
    "Median ms of fn(*inputs).sum().backward() and the peak extra memory (bytes) of one call."
    leaves = [x.detach().requires_grad_(True) for x in inputs]
    def step():
        for x in leaves: x.grad = None
        fn(*leaves).sum().backward()
    for _ in range(warmup): step()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); step(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    for x in leaves: x.grad = None
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(); torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    return sorted(times)[len(times) // 2], peak


def run_gpu(args):
    name = torch.cuda.get_device_name()
    bw = peak_bandwidth(name, args.peak_bw)
    dtype = getattr(torch, args.dtype)
    print(f"device: {name}; peak bandwidth {'unknown (pass --peak-bw TB/s)' if bw is None else f'{bw / 1e12:.2f} TB/s'}"
          f"; triton {triton.__version__ if triton else 'missing'}; torch {torch.__version__}")
    for gname in args.graph:
        graph = Absorbing(args.vocab - 1) if gname == 'absorbing' else Uniform(args.vocab)
        compiled = torch.compile(graph.score_entropy, dynamic=False)
        for N in args.n:
            ls, sigma, xt, x0, h, W, b = make_inputs(graph, N, dtype, 'cuda')
            elem = ls.element_size()
            rows = {
                'eager': (lambda x: graph.score_entropy(x, sigma, xt, x0), [ls]),
                'eager dense': (lambda x: score_entropy_eager(x, sigma, xt, x0, graph), [ls]),
                'compiled': (lambda x: compiled(x, sigma, xt, x0), [ls]),
                'fused': (lambda x: fused_score_entropy(x, sigma, xt, x0, graph), [ls]),
                'fused padded': (lambda x: fused_score_entropy(x, sigma, xt, x0, graph), [padded_rows(ls)]),
                'eager proj': (lambda h_, W_, b_: graph.score_entropy(
                    log_score_from_logits(torch.addmm(b_, h_, W_), sigma, xt, graph), sigma, xt, x0), [h, W, b]),
                'fused proj': (lambda h_, W_, b_: fused_linear_score_entropy(h_, W_, b_, sigma, xt, x0, graph), [h, W, b]),
            }
            print(f"\n{graph!r}  N = {N}, dim = {graph.dim}, log-scores {args.dtype}, projection D = {h.shape[1]} bf16")
            print(f"{'':12s} {'ms':>9s} {'x eager':>8s} {'peak GB':>8s} {'x eager':>8s} {'TB/s':>6s} {'of peak':>8s}"
                  f" {'GB moved':>9s} {'floor ms':>9s} {'of floor':>9s}")
            res = {}
            for key, (fn, ins) in rows.items():
                try:
                    res[key] = time_fwd_bwd(fn, ins)
                except torch.OutOfMemoryError:
                    res[key] = None
                torch.cuda.empty_cache()
                base = res['eager proj' if 'proj' in key else 'eager']
                if res[key] is None: print(f"{key:12s} {'OOM':>9s}"); continue
                ms, peak = res[key]
                rt = f"{ms / base[0]:8.2f}" if base else f"{'-':>8s}"
                rm = f"{peak / base[1]:8.2f}" if base else f"{'-':>8s}"
                masked = float((xt == graph.dim - 1).float().mean()) if graph.absorb else None
                moved = min_bytes(key, N, graph.dim, elem, h.shape[1], h.element_size(), masked)
                ach = moved / (ms * 1e-3)
                tb, frac = f"{ach / 1e12:6.2f}", (f"{ach / bw:8.1%}" if bw else f"{'?':>8s}")
                floor = f"{moved / bw * 1e3:9.3f} {moved / bw * 1e3 / ms:9.1%}" if bw else f"{'?':>9s} {'?':>9s}"
                print(f"{key:12s} {ms:9.3f} {rt} {peak / 1e9:8.2f} {rm} {tb} {frac} {moved / 1e9:9.2f} {floor}")
            del ls, h, W, b
            torch.cuda.empty_cache()


def run_cpu(args):
    "No GPU: correctness of the fused paths against the reference at small sizes; no timings."
    print("CPU only: checking correctness at small sizes (timings need a CUDA GPU; run this script there).")
    interp = triton is not None and os.environ.get('TRITON_INTERPRET') == '1'
    if not interp: print("  triton is missing or not in interpreter mode: the Triton kernels are not checked.")
    t0 = time.time()
    worst = {}
    for graph in (Absorbing(99), Uniform(100)):
        ls, sigma, xt, x0, h, W, b = make_inputs(graph, 16, torch.float32, 'cpu', D=32)
        ref64 = ls.double().requires_grad_(True)
        ref = graph.score_entropy(ref64, sigma, xt, x0)
        (gref,) = torch.autograd.grad(ref.sum(), ref64)
        if interp:
            x = ls.clone().requires_grad_(True)
            out = fused_score_entropy(x, sigma, xt, x0, graph, force_triton=True)
            (gx,) = torch.autograd.grad(out.sum(), x)
            worst[f'{graph!r} fused loss'] = rel(out, ref), rel(gx, gref)
            xp = padded_rows(ls).requires_grad_(True)
            outp = fused_score_entropy(xp, sigma, xt, x0, graph, force_triton=True)
            (gp,) = torch.autograd.grad(outp.sum(), xp)
            worst[f'{graph!r} fused loss, padded rows'] = rel(outp, ref), rel(gp, gref)
        ins = [t.double().requires_grad_(True) for t in (h, W, b)]
        ref_p = graph.score_entropy(log_score_from_logits(torch.addmm(ins[2], ins[0], ins[1]), sigma, xt, graph),
                                    sigma, xt, x0)
        grads_ref = torch.autograd.grad(ref_p.sum(), ins)
        for force in ((False, True) if interp else (False,)):
            mine = [t.clone().requires_grad_(True) for t in (h, W, b)]
            out = fused_linear_score_entropy(*mine, sigma, xt, x0, graph, chunk_size=5, force_triton=force)
            grads = torch.autograd.grad(out.sum(), mine)
            worst[f"{graph!r} fused proj ({'triton' if force else 'torch'})"] = (
                rel(out, ref_p), max(rel(g, r, scale=True) for g, r in zip(grads, grads_ref)))
    print(f"  {'case':40s} {'loss rel err':>13s} {'grad rel err':>13s}")
    ok = True
    for k, (ef, eg) in worst.items():
        good = ef < 1e-5 and eg < 1e-5
        ok &= good
        print(f"  {k:40s} {ef:13.2e} {eg:13.2e} {'ok' if good else 'FAIL'}")
    print(f"  {'all within 1e-5' if ok else 'SOME CHECKS FAILED'} ({time.time() - t0:.1f} s)")
    cpu_targets(args)
    return ok


def child_peak(args):
    "Internal: peak RSS growth of one forward + backward of a PyTorch row, in this fresh process (JSON line)."
    import resource, json
    graph = Absorbing(args.vocab - 1) if args.graph[0] == 'absorbing' else Uniform(args.vocab)
    ls, sigma, xt, x0, h, W, b = make_inputs(graph, args.child_n, getattr(torch, args.dtype), 'cpu')
    fns = {'eager': lambda x: graph.score_entropy(x, sigma, xt, x0),
           'eager dense': lambda x: score_entropy_eager(x, sigma, xt, x0, graph),
           'eager proj': lambda h_, W_, b_: graph.score_entropy(
               log_score_from_logits(torch.addmm(b_, h_, W_), sigma, xt, graph), sigma, xt, x0)}
    ins = [ls] if args.child != 'eager proj' else [h.bfloat16(), W.bfloat16(), b.bfloat16()]
    leaves = [x.detach().requires_grad_(True) for x in ins]
    base = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    fns[args.child](*leaves).sum().backward()
    print(json.dumps({'peak': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base}))


def cpu_targets(args, N=16384, n_small=512):
    "Bytes, bandwidth floors and peak memory of every row at N = 16384: what the first GPU run should meet."
    import json, subprocess
    dim, elem, D = args.vocab, torch.finfo(getattr(torch, args.dtype)).bits // 8, 768
    gpus = [('A100-SXM4-80GB', 2.039e12), ('H100 SXM', 3.35e12), ('H200', 4.8e12)]
    print(f"\ntargets at N = {N}, dim = {dim}, log-scores {args.dtype}, projection D = {D} bf16 (no GPU here: "
          f"bytes and floors are computed, not measured)")
    print(f"  {'row':12s} {'GB moved':>9s} " + ' '.join(f"{g[:8] + ' ms':>11s}" for g, _ in gpus) + f" {'peak GB':>8s}  peak from")
    for key in ('eager', 'eager dense', 'compiled', 'fused', 'eager proj', 'fused proj'):
        moved = min_bytes(key, N, dim, elem, D, 2)
        if key.startswith('fused'): peak, how = fused_peak_bytes(key, N, dim, elem, D, 2), 'analytic'
        elif key == 'compiled': peak, how = None, 'GPU only (inductor on CPU allocates differently)'
        else:
            r = subprocess.run([sys.executable, __file__, '--child', key, '--child-n', str(n_small), '--vocab', str(dim),
                                '--dtype', args.dtype, '--graph', args.graph[0]], capture_output=True, text=True)
            peak = json.loads(r.stdout.strip().splitlines()[-1])['peak'] * N / n_small if r.returncode == 0 else None
            how = f'CPU peak RSS at N = {n_small}, x {N // n_small}' if peak else f'failed: {r.stderr[-200:]}'
        floors = ' '.join(f"{moved / bw * 1e3:11.2f}" for _, bw in gpus)
        pk = f"{peak / 1e9:8.2f}" if peak else f"{'-':>8s}"
        print(f"  {key:12s} {moved / 1e9:9.2f} {floors} {pk}  {how}")


def rel(a, b, scale=False):
    "Largest |a - b| / (1 + |b|) (or relative to 1 + max|b| when scale)."
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).abs() / (1 + (b.abs().max() if scale else b.abs()))).max().item()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, nargs='+', default=[4096, 16384], help='rows (positions) per batch')
    p.add_argument('--vocab', type=int, default=50258, help='dim of a row (absorbing: V + 1 with the mask)')
    p.add_argument('--graph', nargs='+', default=['absorbing'], choices=['absorbing', 'uniform'])
    p.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'], help='dtype of the log-scores')
    p.add_argument('--peak-bw', type=float, default=None, help="device's peak memory bandwidth in TB/s (overrides the table)")
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)          # internal: one CPU peak measurement
    p.add_argument('--child-n', type=int, default=512, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child: return child_peak(args)
    if torch.cuda.is_available():
        if triton is None: sys.exit("triton is not installed: the fused kernels cannot run (pip install triton).")
        run_gpu(args)
    else:
        sys.exit(0 if run_cpu(args) else 1)


if __name__ == '__main__':
    main()
