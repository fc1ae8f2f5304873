"""Every GPU figure of the project in one run: environment, correctness, fused loss, gpt2_small training, sampler, resume.

    python bench/gpu_first_run.py --out gpu_report            # on a machine with one NVIDIA GPU: about 6 minutes
    python bench/gpu_first_run.py --out /tmp/dry --dry-run    # CPU, tiny sizes, Triton's interpreter (CI runs this)
    python bench/gpu_first_run.py --out DIR --time-budget 535 # fit a lease: each step gets its share of what is left

Measured on an H200 on 2026-12-04: bench/results/h200_first_run.md (all six steps ok in 230 s).

Each step runs in its own process with its own time limit, so a step that fails or hangs costs only itself; its
figures (or its error) go to `OUT/<step>.json`, and at the end `OUT/report.md` and `OUT/report.json` gather them,
every figure with what it is compared with. A run first deletes the files of the steps it runs and stamps what it
writes with its own id, so a step that times out shows as such, never with an earlier run's figures. Nothing is downloaded: the data is the embedded pydoc corpus, the
tokenizer a byte-level BPE trained on it, the weights random or trained here.

Steps, in order:
  env          GPU name and memory, torch / triton / CUDA versions, bf16 support, whether torch.compile works
  correctness  fused loss forward and backward against the float64 PyTorch reference at GPT-2's vocabulary (random
               rows, rows near the optimum, sigma from 1e-4 to 20); the model's log-scores under bf16 autocast
               against float32; a Hub-layout export loaded on the GPU against the same weights on the CPU
  fused_loss   bench/fused_loss.py at N = 4096 and 16384, dim = 50258, float32 and bfloat16 (its own table)
  train        the gpt2_small network for a few hundred steps with compile, bf16 and the fused loss: tokens/s,
               model FLOPs utilisation against the GPU's bf16 peak, peak memory, loss first vs last; then the same
               with fused_loss=False, for the ratio
  sampler      seconds per sampler step and peak memory at L = 1024, V = 50258, B = 4..64, against one call of
               the network alone
  resume       a run stopped at step k and resumed, against the same run uninterrupted (deterministic algorithms)
"""
import argparse, contextlib, json, math, os, subprocess, sys, tempfile, time, traceback
from pathlib import Path

STEPS = ('env', 'correctness', 'fused_loss', 'train', 'sampler', 'resume')
LIMITS = dict(env=60, correctness=90, fused_loss=150, train=300, sampler=90, resume=120)   # seconds, GPU


def sizes(dry: bool) -> dict:
    "The sizes of every step: the real ones, or tiny ones for the CPU dry run."
    if dry: return dict(V=257, N=64, L=32, model='tiny', batch=2, steps=6, sampler_B=(2, 4), resume_steps=6,
                        resume_k=3, bench_n=[64], bpe_vocab=300)
    return dict(V=50257, N=4096, L=1024, model='small', batch=8, steps=200, sampler_B=(4, 16, 64), resume_steps=40,
                resume_k=20, bench_n=[4096, 16384], bpe_vocab=8192)


# ---- the steps, each run in a fresh process: `--step NAME`
def step_env(S, dev, dry):
    import torch, triton
    out = dict(torch=torch.__version__, triton=triton.__version__, cuda=torch.version.cuda, device=str(dev))
    if dev.type == 'cuda':
        p = torch.cuda.get_device_properties(dev)
        out.update(gpu=p.name, memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
                   bf16=torch.cuda.is_bf16_supported())
    f = torch.compile(lambda x: torch.sin(x) * 2 + 1, backend='eager' if dry else 'inductor')   # dry: the API only
    x = torch.randn(64, device=dev)
    out['compile_works'] = bool(torch.allclose(f(x), torch.sin(x) * 2 + 1, atol=1e-5))
    return out


def _near_optimum_rows(graph, n, sigma, gen, device):
    "Absorbing rows at the per-sample optimum (zero ratios 30 nats below) plus noise 1e-3: the loss is tiny here."
    import torch
    from sedd_nb.graphs import log_expm1
    V = graph.dim - 1
    s = torch.full((n,), sigma, dtype=torch.float64)
    x0 = torch.randint(0, V, (n,), generator=gen)
    p0 = torch.nn.functional.one_hot(x0, V).double().clamp_min(math.exp(-30))
    ls = torch.cat([p0.log() - log_expm1(s)[:, None], torch.zeros(n, 1, dtype=torch.float64)], -1)
    ls = ls + 1e-3 * torch.randn(ls.shape, generator=gen, dtype=torch.float64)
    return ls.float().to(device), s.to(device), torch.full((n,), V).to(device), x0.to(device)


def step_correctness(S, dev):
    import torch
    from sedd_nb.graphs import Absorbing
    from sedd_nb.kernels import fused_score_entropy, score_entropy_eager, triton_interpreted
    from sedd_nb.model import ModelConfig, SEDDModel
    force = dev.type == 'cpu' and triton_interpreted()
    graph, gen, out = Absorbing(S['V']), torch.Generator().manual_seed(0), {}
    worst = dict(random_loss=0., random_grad=0., near_loss=0.)
    for sigma in (1e-4, 1e-2, 1., 20.):
        n = 8 if S['V'] > 1000 else S['N']
        ls = (3 * torch.randn(n, graph.dim, generator=gen)).to(dev).requires_grad_()
        s = torch.full((n,), sigma, device=dev)
        xt = torch.where(torch.rand(n, generator=gen) < 0.5, torch.full((n,), S['V']), torch.randint(0, S['V'], (n,), generator=gen)).to(dev)
        x0 = torch.where(xt == S['V'], torch.randint(0, S['V'], (n,), generator=gen).to(dev), xt)
        ref_ls = ls.detach().double().requires_grad_()
        ref = score_entropy_eager(ref_ls, s.double(), xt, x0, graph); ref.sum().backward()
        got = fused_score_entropy(ls, s, xt, x0, graph, force_triton=force); got.sum().backward()
        worst['random_loss'] = max(worst['random_loss'], float(((got.double() - ref).abs() / ref.abs().clamp_min(1e-30)).max()))
        worst['random_grad'] = max(worst['random_grad'], float((ls.grad.double() - ref_ls.grad).abs().max() / ref_ls.grad.abs().max()))
        nls, ns, nxt, nx0 = _near_optimum_rows(graph, n, sigma, gen, dev)
        nref = score_entropy_eager(nls.double(), ns, nxt, nx0, graph)
        ngot = fused_score_entropy(nls, ns, nxt, nx0, graph, force_triton=force)
        worst['near_loss'] = max(worst['near_loss'], float(((ngot.double() - nref).abs() / nref).max()))
    out['fused_vs_float64'] = {k: f"{v:.1e}" for k, v in worst.items()}
    out['checks_passed'] = all(v < 1e-4 for v in worst.values())
    # the model under bf16 autocast against float32
    torch.manual_seed(0)
    mc = getattr(ModelConfig, S['model'])(S['V'] + 1)
    model = SEDDModel(mc).to(dev).eval()
    with torch.no_grad():
        for p in model.parameters(): p.add_(0.02 * torch.randn_like(p))       # no zero-initialised (vacuous) parts
        xt = torch.randint(0, S['V'] + 1, (2, S['L']), device=dev); sigma = torch.tensor([0.1, 2.], device=dev)
        f32 = model(xt, sigma).float()
        with torch.autocast(dev.type, dtype=torch.bfloat16): b16 = model(xt, sigma).float()
    keep = torch.isfinite(f32) & (f32 != 0)
    out['bf16_vs_f32_rel'] = f"{float((b16 - f32)[keep].abs().max() / f32[keep].abs().max()):.1e}"
    # a Hub-layout export loaded on this device against the same weights on the CPU
    from sedd_nb.checkpoint import save_checkpoint, training_state
    from sedd_nb.config import TrainConfig
    from sedd_nb.data import CharTokenizer
    from sedd_nb.hub import export_run, load_checkpoint
    with tempfile.TemporaryDirectory() as d:
        tok = CharTokenizer([chr(33 + i) for i in range(S['V'] - 2)])
        cfg = TrainConfig.char_tiny(out_dir=f'{d}/run', model=S['model'], seq_len=S['L'],
                                    model_kw=dict(arch='paper', max_len=max(S['L'], 64)))
        m = SEDDModel(getattr(ModelConfig, S['model'])(tok.vocab_size + 1, arch='paper', max_len=max(S['L'], 64)))
        with torch.no_grad():
            for p in m.parameters(): p.add_(0.02 * torch.randn_like(p))
        Path(f'{d}/run').mkdir(); tok.save(f'{d}/run/tokenizer.json')
        save_checkpoint(training_state(1, cfg, m, m, torch.optim.AdamW(m.parameters()), tok.vocab_size, {}, [], 0, []), f'{d}/run', 1)
        export_run(f'{d}/run', f'{d}/hub')
        here, cpu = load_checkpoint(f'{d}/hub', device=dev), load_checkpoint(f'{d}/hub')
        xt = torch.randint(0, tok.vocab_size + 1, (2, S['L'])); sigma = torch.tensor([0.3, 4.])
        with torch.no_grad():
            a, b = here['model'](xt.to(dev), sigma.to(dev)).cpu(), cpu['model'](xt, sigma)
    fin = torch.isfinite(b)
    out['hub_gpu_vs_cpu_max_abs'] = f"{float((a - b)[fin].abs().max()):.1e}"
    return out


def step_fused_loss(S, dev, dry):
    out = {}
    for dtype in ('float32', 'bfloat16'):
        cmd = [sys.executable, 'bench/fused_loss.py', '--n', *map(str, S['bench_n']), '--dtype', dtype]
        if dry: cmd += ['--vocab', str(S['V'] + 1)]
        limit = float(os.environ.get('GPU_FIRST_RUN_LIMIT', LIMITS['fused_loss'] * (2 if dry else 1)))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=max(10., limit / 2 - 5))
        out[dtype] = (r.stdout[-6000:] if r.returncode == 0 else f"exit {r.returncode}: {r.stderr[-2000:]}")
    return out


def _bpe_file(S, d):
    from sedd_nb import data
    tok = data.GPT2Tokenizer.train(data.load_texts('pydoc'), vocab_size=S['bpe_vocab'])
    tok.save(f'{d}/bpe.json')
    return f'{d}/bpe.json'


def step_train(S, dev, dry):
    import torch
    from sedd_nb.train import TrainConfig, train
    from sedd_nb.model import flops_per_token, num_params
    from sedd_nb.config import build_model
    out = {}
    with tempfile.TemporaryDirectory() as d:
        tok = _bpe_file(S, d)
        for fused in (True, False):
            cfg = TrainConfig.gpt2_small(out_dir=f'{d}/run_{fused}', corpus='pydoc', tokenizer=tok, model=S['model'],
                                         seq_len=S['L'], batch_size=S['batch'], grad_accum=1, steps=S['steps'],
                                         warmup=min(20, S['steps']), eval_every=0, eval_batches=1, elbo_points=2,
                                         sample_every=0, sample_steps=2, n_samples=1, ckpt_every=0, log_every=max(1, S['steps'] // 10),
                                         compile=not dry, fused_loss=fused, cache_dir=f'{d}/cache', progress=False,
                                         device=str(dev), val_frac=0.05, model_kw={'max_len': S['L']})
            if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
            t0 = time.time()
            res = train(cfg)
            wall = time.time() - t0
            logs = [h for h in res['history'] if 'tok_s' in h]
            later = logs[len(logs) // 2:] or logs                       # after compilation and warm-up
            tok_s = sum(h['tok_s'] for h in later) / len(later)
            net = build_model(cfg, S['bpe_vocab'])
            n, flops = num_params(net), flops_per_token(net.cfg, S['L'])          # attention and real width counted
            from sedd_nb.track import peak_flops
            peak = peak_flops(dev)                                           # sedd_nb.track's table
            out['fused' if fused else 'unfused'] = dict(
                tokens_per_s=round(tok_s), params=n, mfu=None if peak is None else round(flops * tok_s / peak, 3),
                peak_memory_gib=round(torch.cuda.max_memory_allocated(dev) / 2**30, 2) if dev.type == 'cuda' else None,
                loss_first_bits=round(logs[0]['loss_bits_tok'], 3), loss_last_bits=round(logs[-1]['loss_bits_tok'], 3),
                wall_s=round(wall, 1), steps=S['steps'])
    out['fused_over_unfused_tokens_per_s'] = round(out['fused']['tokens_per_s'] / out['unfused']['tokens_per_s'], 3)
    return out


def step_sampler(S, dev):
    import torch
    from sedd_nb.graphs import Absorbing
    from sedd_nb.model import ModelConfig, SEDDModel
    from sedd_nb.noise import LogLinearNoise
    from sedd_nb.sampling import sample
    model = SEDDModel(getattr(ModelConfig, S['model'])(S['V'] + 1, max_len=S['L'])).to(dev).eval()
    graph, noise, rows = Absorbing(S['V']), LogLinearNoise(), []
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    ac = (lambda: torch.autocast('cuda', dtype=torch.bfloat16)) if dev.type == 'cuda' else contextlib.nullcontext
    for B in S['sampler_B']:
        xt = torch.full((B, S['L']), S['V'], device=dev); sigma = torch.ones(B, device=dev)
        with torch.no_grad(), ac():
            model(xt, sigma); sync()
            if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
            t0 = time.time(); model(xt, sigma); sync(); net = time.time() - t0
            net_mem = torch.cuda.max_memory_allocated(dev) if dev.type == 'cuda' else None
            steps = 4
            if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
            t0 = time.time()
            sample(lambda x, s: model(x, s), graph, noise, (B, S['L']), steps, device=dev, generator=torch.Generator(device=dev).manual_seed(0))
            sync(); per_call = (time.time() - t0) / (steps + 1)                 # steps plus the denoising call
            mem = torch.cuda.max_memory_allocated(dev) if dev.type == 'cuda' else None
        rows.append(dict(B=B, network_s=round(net, 4), sampler_s_per_call=round(per_call, 4),
                         sampler_over_network=round(per_call / net, 2),
                         network_peak_gib=None if net_mem is None else round(net_mem / 2**30, 2),
                         sampler_peak_gib=None if mem is None else round(mem / 2**30, 2)))
    return dict(rows=rows)


def step_resume(S, dev, dry):
    import torch
    from sedd_nb.checkpoint import checkpoint_paths
    from sedd_nb.train import TrainConfig, train
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')      # before the first cuBLAS call: deterministic GEMMs
    torch.use_deterministic_algorithms(True, warn_only=True)         # ops without a deterministic kernel warn, and count
    out = {}
    with tempfile.TemporaryDirectory() as d:
        tok = _bpe_file(S, d)
        def cfg(name): return TrainConfig.char_tiny(out_dir=f'{d}/{name}', tokenizer=tok, seq_len=min(S['L'], 128),
                                                    model_kw={'max_len': min(S['L'], 128)}, steps=S['resume_steps'],
                                                    ckpt_every=S['resume_k'], progress=False, device=str(dev),
                                                    cache_dir=f'{d}/cache', amp=True, eval_every=0, sample_steps=2)
        class Stop(Exception): pass
        def stop(event, step, **kw):
            if event == 'after_step' and step == S['resume_k']: raise Stop
        train(cfg('whole'))
        try: train(cfg('cut'), hook=stop)
        except Stop: pass
        train(cfg('cut'))
        a, b = (torch.load(checkpoint_paths(f'{d}/{n}')[-1], weights_only=True) for n in ('whole', 'cut'))
        diffs = [float((a['model'][k].double() - b['model'][k].double()).abs().max()) for k in a['model']]
        out.update(bitwise=all(x == 0 for x in diffs), max_abs_diff=max(diffs), stopped_at=S['resume_k'], steps=S['resume_steps'])
    return out


def run_step(name, out_dir, dry):
    import torch
    dev = torch.device('cuda' if torch.cuda.is_available() and not dry else 'cpu')
    S, t0 = sizes(dry), time.time()
    try:
        fn = dict(env=lambda: step_env(S, dev, dry), correctness=lambda: step_correctness(S, dev),
                  fused_loss=lambda: step_fused_loss(S, dev, dry), train=lambda: step_train(S, dev, dry),
                  sampler=lambda: step_sampler(S, dev), resume=lambda: step_resume(S, dev, dry))[name]
        figs = fn()
        rec = dict(status='ok' if figs.get('checks_passed', True) else 'check failed', figures=figs)
    except Exception as e:
        rec = dict(status='failed', error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-3000:])
    rec['seconds'] = round(time.time() - t0, 1)
    rec['run_id'] = os.environ.get('GPU_FIRST_RUN_ID')          # which run of the script wrote it
    (Path(out_dir) / f'{name}.json').write_text(json.dumps(rec, indent=2, default=str))


# ---- the report
COMPARED = dict(
    env='what this machine reports',
    correctness='fused loss and its gradient against the float64 PyTorch reference (relative error); bf16 autocast '
                'log-scores against float32 (largest difference over largest value); a Hub export on this device '
                'against the same weights on the CPU (largest absolute difference)',
    fused_loss="bench/fused_loss.py's own table: each row as a ratio to eager PyTorch, and as a fraction of the "
               "device's bandwidth floor",
    train='tokens/s with the fused loss against the same run without it; MFU = sedd_nb.model.flops_per_token (attention '
          "and the BPE's output width counted) x tokens/s over the GPU's dense bf16 peak; training loss of the first "
          "log line against the last",
    sampler='seconds per sampler call against one call of the network alone, same batch and length',
    resume='final weights of a run stopped and resumed against the same run uninterrupted')


def this_runs_result(out_dir, name, run_id, limits_hit) -> dict:
    "The record step `name` wrote in this run (`run_id`), or why there is none; an earlier run's file never counts."
    f = Path(out_dir) / f'{name}.json'
    rec = json.loads(f.read_text()) if f.exists() else None
    if rec is not None and (run_id is None or rec.get('run_id') == run_id): return rec
    if name in limits_hit: return dict(status='timed out')
    return dict(status='failed', error=f"the step ended without a result; see {Path(out_dir) / (name + '.log')}")


def report(out_dir, dry, limits_hit, steps=STEPS, run_id=None):
    "report.md and report.json of the steps `steps` of the run `run_id`; the other steps are 'not run'."
    recs = {n: this_runs_result(out_dir, n, run_id, limits_hit) if n in steps else dict(status='not run') for n in STEPS}
    (Path(out_dir) / 'report.json').write_text(json.dumps(dict(dry_run=dry, run_id=run_id, steps=recs), indent=2, default=str))
    lines = [f"# First GPU run{' (dry run on CPU: tiny sizes, not GPU figures)' if dry else ''}", '']
    for n in STEPS:
        r = recs[n]
        lines += [f"## {n}: {r['status']}" + (f" ({r['seconds']} s)" if 'seconds' in r else ''), '',
                  f"Compared with: {COMPARED[n]}.", '']
        if r['status'] == 'ok':
            figs = r['figures']
            if n == 'fused_loss': lines += [f"### {k}\n```\n{v}\n```" for k, v in figs.items()]
            else: lines += ['```json', json.dumps(figs, indent=2, default=str), '```']
        elif 'error' in r: lines += [f"error: {r['error']}"]
        lines.append('')
    (Path(out_dir) / 'report.md').write_text('\n'.join(lines))
    return recs


def step_limit(name, todo, dry, left=None):
    "Seconds for step `name`: its default limit, or, under a budget with `left` seconds, its share of them among `todo`."
    full = LIMITS[name] * (2 if dry else 1)
    if left is None: return full
    return max(1., left * LIMITS[name] / sum(LIMITS[n] for n in todo))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True, help='folder for the report (report.md, report.json, one JSON per step)')
    ap.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes, Triton interpreter: checks the script runs')
    ap.add_argument('--only', nargs='+', choices=STEPS, default=list(STEPS), help='run these steps only')
    ap.add_argument('--step', default=None, help=argparse.SUPPRESS)        # internal: one step in this process
    ap.add_argument('--time-budget', type=float, default=None,
                    help='seconds for all steps together: each step gets the share of what is left that its '
                         'default limit would take, so time a step leaves unused goes to the later ones')
    a = ap.parse_args(argv)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    if a.step: return run_step(a.step, a.out, a.dry_run)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if a.dry_run: env['TRITON_INTERPRET'] = '1'
    hit, start = [], time.time()
    run_id = env['GPU_FIRST_RUN_ID'] = time.strftime('%Y-%m-%dT%H:%M:%S') + f'-{os.getpid()}'
    for name in a.only: (Path(a.out) / f'{name}.json').unlink(missing_ok=True)   # an earlier run's result never shows
    for i, name in enumerate(a.only):
        limit = step_limit(name, a.only[i:], a.dry_run, None if a.time_budget is None else a.time_budget - (time.time() - start))
        print(f"[{time.time() - start:5.0f} s] {name} (limit {limit:.0f} s)", flush=True)
        with open(Path(a.out) / f'{name}.log', 'w') as log:                   # the step's own output, for a post-mortem
            try: subprocess.run([sys.executable, __file__, '--step', name, '--out', a.out] + (['--dry-run'] if a.dry_run else []),
                                env=dict(env, GPU_FIRST_RUN_LIMIT=str(limit)), timeout=limit, stdout=log, stderr=log)
            except subprocess.TimeoutExpired: hit.append(name)
    recs = report(a.out, a.dry_run, hit, a.only, run_id)
    print(f"[{time.time() - start:5.0f} s] " + ', '.join(f"{n}: {recs[n]['status']}" for n in a.only))
    print(f"report: {Path(a.out) / 'report.md'}")
    return recs


if __name__ == '__main__':
    main()
