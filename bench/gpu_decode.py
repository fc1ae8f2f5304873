"""Decoding at the GPU's pace: tokens/s of autoregressive KV-cache decoding, block decoding and SEDD windows, and
the sampler's own work per network call, each with CUDA graphs on and off, in one process.

    python bench/gpu_decode.py --out DIR              # one GPU: GPT-2-small shape, bf16, 8 x 1,024 tokens (budget 4 min)
    python bench/gpu_decode.py --out DIR --char       # the CPU, the char tutorial's network shape (ratios, not GPU figures)
    python bench/gpu_decode.py --out DIR --dry-run    # the CPU, tiny sizes: checks the script (CI, seconds)

Networks have random weights (speed does not depend on them), of the shape `ModelConfig.small` (d 768, 12 layers,
12 heads, max_len 1024, V = 50,257 data tokens: output width 50,258 for diffusion, 50,257 for AR) under bf16 autocast,
or `ModelConfig.char` (V = 96, max_len 256, float32) with `--char`. Every sampler is `sedd_nb.generate`'s:

  decode    n samples of L tokens (L = max_len: the AR cache holds the whole text), tokens/s and ms per network call:
              AR KV cache      `ar_decode`: one call per token on a cache preallocated at max_len
              block b, k/call  `static_blocks`: first hitting, b / k calls per block of b (k tokens revealed per call)
              SEDD             `sample` with the analytic sampler on the whole text, L / 4 steps (4 tokens per call)
            each with graphs on (`GraphedCall`: one CUDA graph per shape) and off (the same static shapes, eager);
            and, for reference, today's paths: `ar_generate` (the whole prefix every token) and `sample_blocks` with
            chapter 15's growing cache (b = 16, 1 token per call). `x AR` is tokens/s over the AR KV cache's (graphs on where
            there are graphs). With --char only graphs off is run: on the CPU a graphed call is the eager one.
  sampler   at B = 4, 16, 64 and L tokens: the sampler's own work as a fraction of one network call,
            (sampler time per call - network time per call) / network time per call, the analytic sampler with
            4 steps and its denoising step against 5 bare network calls on the same shapes, graphs on and off;
            on a GPU the masked rows are drawn by chapter 11b's kernel, and one more row per B (graphs on) draws
            them in PyTorch instead (`absorbing_step(fused=False)`): the kernel's switch-off.

A row that would run past the budget is skipped and says so; one that runs out of memory says so. --char times
every row in 3 interleaved rounds and keeps each row's fastest; on the CPU time is the process's CPU time (one
thread), so other jobs on a shared machine do not count. The GPU rows run once, after all warm-ups (first calls,
graph captures), timed by the wall clock around synchronised calls.
"""
import argparse, contextlib, json, platform, sys, time
from pathlib import Path

import timing                              # bench/timing.py, the benchmarks' one clock


def sizes(mode: str) -> dict:
    common = dict(blocks=(4, 16), per_call=(1, 2, 4), n=8, repeats=1, graphs=(True, False))
    if mode == 'dry': return dict(common, V=40, model='tiny', L=32, n=2, blocks=(4, 8), per_call=(1, 2), batches=(2, 4),
                                  budget=120)
    if mode == 'char': return dict(common, V=96, model='char', L=256, batches=(), budget=1800, repeats=3,
                                   graphs=(False,))            # on the CPU a graphed call is the eager one
    return dict(common, V=50257, model='small', L=1024, batches=(4, 16, 64), budget=230)


def network(S, dev, seed, **kw):
    "A random-weight network of the chosen shape (every weight drawn, so no score is degenerate)."
    import torch
    from sedd_nb.blocks import build_network
    from sedd_nb.model import ModelConfig
    torch.manual_seed(seed)
    size = getattr(ModelConfig, S['model'])
    causal = kw.get('causal', False)
    m = build_network(size(S['V'] + (0 if causal else 1), max_len=S['L'], **kw)).to(dev).eval()
    with torch.no_grad():
        for p in m.parameters(): p.add_(0.02 * torch.randn_like(p))
    return m


class Clock:
    def __init__(self, dev, amp, start, budget):
        import torch
        self.torch, self.cuda, self.amp, self.start, self.budget = torch, dev.type == 'cuda', amp, start, budget

    def sync(self): timing.sync(self.cuda)

    def run(self, fn):
        "Seconds of one call of `fn` (bench/timing.py's `seconds_of`), its result; None if past the budget."
        if time.time() - self.start > self.budget: return None, None
        with self.amp(), self.torch.no_grad(): return timing.seconds_of(fn, self.cuda)


def decode_rows(S, dev, clock):
    "Tokens/s of every decoder, graphs on and off; the references last."
    import torch
    from sedd_nb.blocks import sample_blocks
    from sedd_nb.generate import GraphedCall, StaticBlockCache, StaticKV, ar_decode, static_blocks
    from sedd_nb.graphs import Absorbing
    from sedd_nb.noise import LogLinearNoise
    from sedd_nb.generate import ar_generate
    from sedd_nb.sampling import sample
    n, L, V = S['n'], S['L'], S['V']
    bos = V - 1                                                         # the last data token stands for EOS
    graph, noise = Absorbing(V), LogLinearNoise()
    gen = lambda: torch.Generator(device=dev).manual_seed(0)
    ar = network(S, dev, 0, causal=True)
    blk = {b: network(S, dev, b, block_size=b, output='subs', sigma_cond=False) for b in S['blocks']}
    sedd = network(S, dev, 1, output='subs', sigma_cond=False)

    def ar_kv(graphs):
        kv = StaticKV(ar, graphs)
        go = lambda length: ar_decode(ar, n, length, bos, generator=gen(), device=dev, cache=kv)
        return ('AR KV cache', graphs, L, lambda: go(L), lambda: go(4))

    def block(b, k, graphs):
        c = StaticBlockCache(blk[b], graphs)
        go = lambda length: static_blocks(blk[b], graph, noise, n, length, b // k, predictor='first_hitting',
                                          cache=c, device=dev, generator=gen())
        return (f'block {b}, {k}/call', graphs, (L // b) * (b // k + 1), lambda: go(L), lambda: go(2 * b))

    def sedd_window(graphs, steps=L // 4):
        fn = GraphedCall(lambda xt, s: sedd.output(sedd.trunk(xt, s), xt, s), graphs)
        go = lambda k: sample(fn, graph, noise, (n, L), k, device=dev, generator=gen())
        return ('SEDD (one window), 4/call', graphs, steps + 1, lambda: go(steps), lambda: go(2))

    b = max(S['blocks'])
    specs = ([ar_kv(g) for g in S['graphs']] + [block(b, k, g) for b in S['blocks'] for k in S['per_call'] for g in S['graphs']]
             + [sedd_window(g) for g in S['graphs']]
             + [('AR, no cache (ar_generate)', False, L, lambda: ar_generate(ar, n, L, bos, generator=gen(), device=dev), None),
                (f'block {b}, 1/call, growing cache', False, (L // b) * (b + 1),
                 lambda: sample_blocks(blk[b], graph, noise, n, L, predictor='first_hitting', device=dev, generator=gen()), None)])
    return rows_of(specs, S, clock, n * L)


def rows_of(specs, S, clock, tokens):
    """Each spec (name, graphs, calls, run, warm-up) timed: warm-ups first (graph captures), then rounds over all
    specs, the fastest round of each kept; tokens/s, ms per call, and x the AR KV cache's tokens/s."""
    import torch
    best = [None] * len(specs)
    for i, (*_, warm) in enumerate(specs):
        try:
            if warm is not None: clock.run(warm)
        except RuntimeError as e: best[i] = f'failed: {str(e)[:200]}'                # e.g. a graph capture
    for _ in range(S['repeats']):                        # interleaved rounds: a slow spell of a shared CPU hits all rows
        for i, (name, graphs, calls, fn, _) in enumerate(specs):
            if isinstance(best[i], str): continue
            try: t, _ = clock.run(fn)
            except torch.cuda.OutOfMemoryError: best[i] = 'OOM'; torch.cuda.empty_cache(); continue
            except RuntimeError as e: best[i] = f'failed: {str(e)[:200]}'; continue    # reported, not fatal
            if t is not None and (best[i] is None or t < best[i]): best[i] = t
    rows = []
    for (name, graphs, calls, _, _), secs in zip(specs, best):
        r = dict(decoder=name, graphs=graphs, calls=calls)
        if isinstance(secs, float): r.update(seconds=secs, tokens_per_s=tokens / secs, ms_per_call=1e3 * secs / calls)
        else: r['skipped'] = {'OOM': 'out of memory', None: 'past the budget'}.get(secs, secs)
        rows.append(r)
    ref = next((r['tokens_per_s'] for r in rows if r['decoder'] == 'AR KV cache' and 'tokens_per_s' in r), None)
    for r in rows:
        if ref and 'tokens_per_s' in r: r['x_ar'] = r['tokens_per_s'] / ref
        print(_line(r), flush=True)
    return rows


def sampler_rows(S, dev, clock):
    "The analytic sampler's own work per network call, as a fraction of the call, graphs on and off."
    import torch
    from sedd_nb.generate import GraphedCall
    from sedd_nb.graphs import Absorbing
    from sedd_nb.noise import LogLinearNoise
    from sedd_nb.sampling import sample
    from sedd_nb import sampling
    graph, noise, L, steps = Absorbing(S['V']), LogLinearNoise(), S['L'], 4
    m = network(S, dev, 1, output='subs', sigma_cond=False)
    rows, plain = [], sampling.absorbing_step
    kernel = torch.device(dev).type == 'cuda'
    for B in S['batches']:
        for graphs, fused in [(g, None) for g in S['graphs']] + ([(True, False)] if kernel and True in S['graphs'] else []):
            r = dict(batch=B, graphs=graphs, draw='kernel' if kernel and fused is None else 'torch')
            sampling.absorbing_step = plain if fused is None else (lambda *a, **k: plain(*a, **k, fused=False))
            try:
                fn = GraphedCall(lambda xt, s: m.output(m.trunk(xt, s), xt, s), graphs)
                xt = torch.full((B, L), graph.mask, device=dev)
                def net():                                   # the outputs dropped at once, as the sampler drops them
                    for j in range(steps + 1): fn(xt, torch.full((B,), 1.0 - 0.15 * j, device=dev))
                samp = lambda: sample(fn, graph, noise, (B, L), steps, device=dev,
                                      generator=torch.Generator(device=dev).manual_seed(0))
                clock.run(net); t_net, _ = clock.run(net)
                clock.run(samp); t_samp, _ = clock.run(samp)
                if t_net is None or t_samp is None: r['skipped'] = 'past the budget'
                else: r.update(net_ms=1e3 * t_net / (steps + 1), sampler_ms=1e3 * t_samp / (steps + 1),
                               own_work=(t_samp - t_net) / t_net)
            except torch.cuda.OutOfMemoryError: r['skipped'] = 'out of memory'
            except RuntimeError as e: r['skipped'] = f'failed: {str(e)[:200]}'     # one row's failure is reported, not fatal
            finally: sampling.absorbing_step = plain
            fn = None
            if clock.cuda: torch.cuda.empty_cache()
            rows.append(r); print(_line(r), flush=True)
    return rows


def _line(r):
    on = 'on ' if r['graphs'] else 'off'
    if 'skipped' in r: return f"{r.get('decoder', r.get('batch'))!s:32s} graphs {on}  skipped: {r['skipped']}"
    if 'decoder' in r: return (f"{r['decoder']:32s} graphs {on} {r['tokens_per_s']:10.0f} tok/s {r['ms_per_call']:8.2f} ms/call"
                               + (f" {r['x_ar']:6.2f}x AR" if 'x_ar' in r else ''))
    return (f"B = {r['batch']:<3d} graphs {on}  draw {r['draw']:6s} network {r['net_ms']:8.2f} ms/call, "
            f"own work {r['own_work']:6.2f}x a call")


def report_md(rep) -> str:
    out = [f"# Decoding speed: {rep['device']}", '',
           f"{rep['model']} shape, V = {rep['vocab']} data tokens, {rep['n']} samples x {rep['length']} tokens, "
           f"{rep['precision']}; torch {rep['torch']}, {rep['date']}.", '',
           '| decoder | graphs | tokens/s | ms per call | calls | x AR KV cache |', '|---|---|---|---|---|---|']
    for r in rep['sections']['decode']:
        if 'skipped' in r: out.append(f"| {r['decoder']} | {'on' if r['graphs'] else 'off'} | {r['skipped']} | | | |")
        else: out.append(f"| {r['decoder']} | {'on' if r['graphs'] else 'off'} | {r['tokens_per_s']:.0f} | "
                         f"{r['ms_per_call']:.2f} | {r['calls']} | {r.get('x_ar', float('nan')):.2f} |")
    if rep['sections']['sampler']:
        out += ['', "Sampler's own work per network call (analytic, 4 steps + denoising):", '',
                '| B | graphs | draw | network ms/call | sampler ms/call | own work / call |', '|---|---|---|---|---|---|']
        for r in rep['sections']['sampler']:
            on = 'on' if r['graphs'] else 'off'
            if 'skipped' in r: out.append(f"| {r['batch']} | {on} | {r['draw']} | {r['skipped']} | | |")
            else: out.append(f"| {r['batch']} | {on} | {r['draw']} | {r['net_ms']:.2f} | "
                             f"{r['sampler_ms']:.2f} | {r['own_work']:.2f} |")
    return '\n'.join(out) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--dry-run', action='store_true', help='the CPU, tiny sizes: checks the script')
    ap.add_argument('--char', action='store_true', help="the CPU, the char tutorial's shape, float32")
    ap.add_argument('--threads', type=int, default=1, help='CPU threads (--char, --dry-run)')
    ap.add_argument('--rounds', type=int, default=None, help='timed rounds over all rows (default: 3 with --char, else 1)')
    a = ap.parse_args(argv)
    import torch
    mode = 'dry' if a.dry_run else 'char' if a.char else 'gpu'
    cuda = mode == 'gpu'
    if cuda and not torch.cuda.is_available():
        sys.exit("no CUDA GPU here: run with --char (the CPU, char shape) or --dry-run (checks the script)")
    if not cuda: torch.set_num_threads(a.threads)
    S, out, dev = sizes(mode), Path(a.out), torch.device('cuda' if cuda else 'cpu')
    if a.rounds: S['repeats'] = a.rounds
    out.mkdir(parents=True, exist_ok=True)
    for f in ('report.md', 'report.json'): (out / f).unlink(missing_ok=True)      # never report an earlier run
    amp = (lambda: torch.autocast('cuda', dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    clock = Clock(dev, amp, time.time(), S['budget'])
    name = (torch.cuda.get_device_name(dev) if cuda else
            f"CPU {platform.machine()}, {torch.get_num_threads()} thread(s) ({'dry run: ' if a.dry_run else ''}not GPU figures)")
    rep = dict(device=name, dry_run=a.dry_run, torch=torch.__version__, date=time.strftime('%Y-%m-%d'), model=S['model'],
               vocab=S['V'], n=S['n'], length=S['L'], precision='bf16 autocast' if cuda else 'float32', sections={})
    print(f"{name}; {S['model']} shape, V = {S['V']}, {S['n']} x {S['L']} tokens, {rep['precision']}", flush=True)
    rep['sections']['decode'] = decode_rows(S, dev, clock)
    rep['sections']['sampler'] = []
    (out / 'report.json').write_text(json.dumps(rep, indent=1))          # the decode figures survive a failed section
    rep['sections']['sampler'] = sampler_rows(S, dev, clock)
    rep['seconds'] = time.time() - clock.start
    (out / 'report.json').write_text(json.dumps(rep, indent=1))
    (out / 'report.md').write_text(report_md(rep))
    print(f"{rep['seconds']:.0f} s; report: {out / 'report.md'}")


if __name__ == '__main__':
    main()
