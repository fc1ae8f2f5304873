"""The sampler at GPT-2 vocabulary: peak memory and time per network call, against the network alone.

    python bench/sampler.py [--batch 4] [--length 1024] [--vocab 50257] [--steps 2] [--repeats 2]

A 1-layer, width-64 `SEDDModel` on the absorbing graph with V = 50257 data tokens (dim = 50258), so nearly all
the work and memory is in the (B, L, dim) tables the sampler handles, not in the network. Each measurement runs
in a fresh process (peak RSS is a high-water mark), alternating the two:
  network    the model's forward alone, as many calls as the sampler makes (steps + 1 with the denoising step):
             the reference, since the (B, L, dim) float32 log-scores it returns cannot be avoided
  sampler    sedd_nb.sampling.sample(..., predictor='analytic', steps) on the same model
  first hit  sedd_nb.sampling.sample(..., predictor='first_hitting', steps + 1): the same number of network calls,
             each revealing ceil(L / calls) positions
  euler      sedd_nb.sampling.sample(..., predictor='euler', steps)
  tau        sedd_nb.sampling.sample(..., predictor='tau_leaping', steps)
Peak memory is the process's peak RSS minus its RSS after building the model, shown in GiB and as a multiple of
one float32 (B, L, dim) log-score tensor. Time is per network call: the sampler's wall time divided by steps + 1.
`own work` is the sampler's time beyond the network's, as a fraction of one network call: (sampler - network) /
network, per call, from the fastest run of each (target: <= 0.5 on a CPU at B = 4, L = 1024, V = 50257).
On a CUDA device the same is measured with the CUDA allocator's peak and CUDA events.
"""
import argparse, json, os, resource, subprocess, sys, time


def child(args):
    "One measurement in this process; prints a JSON line."
    import torch
    from sedd_nb.graphs import Absorbing
    from sedd_nb.noise import LogLinearNoise
    from sedd_nb.model import ModelConfig, SEDDModel
    from sedd_nb.sampling import sample
    torch.manual_seed(0)
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    graph, noise = Absorbing(args.vocab), LogLinearNoise()
    cfg = ModelConfig(vocab_size=graph.dim, d_model=64, n_heads=2, n_layers=1, cond_dim=64, max_len=args.length)
    model = SEDDModel(cfg).to(dev).eval()
    with torch.no_grad():                         # non-zero output weights, so the scores are not all equal
        for p in model.parameters(): p.add_(0.02 * torch.randn_like(p))
    calls = args.steps + 1
    B, L = args.batch, args.length
    def rss(): return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    if dev == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
    else: base = rss()
    t0 = time.perf_counter()
    if args.what == 'network':
        xt = torch.full((B, L), graph.mask, device=dev)
        with torch.no_grad():
            for k in range(calls):
                out = model(xt, torch.full((B,), 1.0 - 0.3 * k, device=dev)); del out
    else:
        pred, steps = {'sampler': ('analytic', args.steps), 'euler': ('euler', args.steps), 'tau': ('tau_leaping', args.steps),
                       'first_hit': ('first_hitting', calls)}[args.what]
        sample(lambda x, s: model(x, s), graph, noise, (B, L), steps, predictor=pred, device=dev,
               generator=torch.Generator(device=dev).manual_seed(0))
    if dev == 'cuda': torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated() - base if dev == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)
    print(json.dumps({'what': args.what, 'device': torch.cuda.get_device_name() if dev == 'cuda' else 'cpu',
                      's_per_call': wall / calls, 'peak_bytes': peak, 'logit_bytes': B * L * graph.dim * 4,
                      'threads': torch.get_num_threads()}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--length', type=int, default=1024)
    ap.add_argument('--vocab', type=int, default=50257, help='data tokens (dim = vocab + 1 with the mask)')
    ap.add_argument('--steps', type=int, default=2, help='analytic steps (plus the denoising step)')
    ap.add_argument('--repeats', type=int, default=2, help='measurements of each, alternating')
    ap.add_argument('--what', default=None, help=argparse.SUPPRESS)   # internal: run one measurement
    a = ap.parse_args(argv)
    if a.what: return child(a)
    rows = {'network': [], 'sampler': [], 'first_hit': [], 'euler': [], 'tau': []}
    for _ in range(a.repeats):
        for what in rows:
            r = subprocess.run([sys.executable, __file__, '--what', what] + [f'--{k}={getattr(a, k)}' for k in
                               ('batch', 'length', 'vocab', 'steps')], capture_output=True, text=True, check=True)
            rows[what].append(json.loads(r.stdout.strip().splitlines()[-1]))
    r0 = rows['network'][0]
    print(f"device: {r0['device']} ({r0['threads']} threads); B = {a.batch}, L = {a.length}, dim = {a.vocab + 1}, "
          f"{a.steps} analytic steps + denoising; one float32 log-score tensor = {r0['logit_bytes'] / 2**30:.2f} GiB")
    print(f"{'':9s} {'s / call':>18s} {'peak GiB':>18s} {'x log-scores':>13s} {'x network time':>15s} {'own work':>9s}")
    net_t = min(r['s_per_call'] for r in rows['network'])
    for what, rs in rows.items():
        ts = ', '.join(f"{r['s_per_call']:.2f}" for r in rs)
        pk = ', '.join(f"{r['peak_bytes'] / 2**30:.2f}" for r in rs)
        x = max(r['peak_bytes'] for r in rs) / r0['logit_bytes']
        ratio = min(r['s_per_call'] for r in rs) / net_t
        print(f"{what:9s} {ts:>18s} {pk:>18s} {x:13.1f} {ratio:15.2f} {ratio - 1:9.2f}")


if __name__ == '__main__':
    main()
