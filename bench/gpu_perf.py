"""GPT-2-scale training at the GPU's pace: the training step and the fused loss, each optimisation against its own
switch-off, in one call.

    python bench/gpu_perf.py --out DIR              # one H100 or H200: about 6 minutes (budget 8)
    python bench/gpu_perf.py --out DIR --dry-run    # CPU, tiny sizes, Triton's interpreter: checks the script (CI)

No data and no tokenizer are needed: batches are random token ids of GPT-2's vocabulary (V = 50,257 data tokens,
so the absorbing graph's output width is 50,258), which is enough for timing. What runs is the trainer's own
`train_step` on a `Run` built here, with the gpt2_small network (`ModelConfig.small`: d 768, 12 layers, 12 heads,
L = 1024), torch.compile, bf16 autocast and the fused loss, as `TrainConfig.gpt2_small` trains it.

Sections of DIR/report.md (and DIR/report.json):
  step       ms per step at batch 8 and 16 (CUDA events around 20 steps after 10 warm-up steps), tokens/s, MFU =
             `sedd_nb.model.flops_per_token` x tokens/s over the device's bf16 dense peak (named), and the GPU-busy
             fraction: the profiler's device time of 3 steps over their wall time
  syncs      4 steps under torch.cuda.set_sync_debug_mode('error'): 'none', or the first sync's message
  switches   at batch 8, each optimisation against its own switch-off, interleaved in rounds (A, B, A, B, ...),
             medians of the rounds:
               rotary table   off: the angles computed inside the compiled graph, as before (a second compile)
               fused AdamW    off: foreach AdamW, which must read `ok` on the host every step
               foreach EMA    off: the state_dict loop of before, one lerp per tensor
               no host reads  off: float(loss), float(gnorm), int(x0.min()), int(x0.max()) every step, as before
               fused loss     off: the PyTorch score entropy
  kernel     bench/fused_loss.py's absorbing table at N = 16384, dim = 50,258, float32 and bfloat16 (time against
             eager and torch.compile, fraction of the bandwidth floor); its `fused padded` row against `fused` is
             the padded rows' switch-off (the model's log-scores in rows of 50,304: 16-byte loads and stores)
"""
import argparse, contextlib, copy, importlib, json, os, statistics, subprocess, sys, time, types

import timing                              # bench/timing.py, the benchmarks' one clock
from pathlib import Path

def sizes(dry: bool) -> dict:
    if dry: return dict(V=300, L=16, model='tiny', batches=(1, 2), warm=1, timed=2, prof=1, rounds=1, kernel_n=[64])
    return dict(V=50257, L=1024, model='small', batches=(8, 16), warm=10, timed=20, prof=3, rounds=3,
                kernel_n=[16384])


def make_run(S, dev, batch, fused_loss=True, compile=True):
    "A trainer `Run` over random token ids: the real network, optimizer, EMA, autocast and loss of gpt2_small."
    import torch
    from sedd_nb.config import build_model
    from sedd_nb.graphs import make_graph
    from sedd_nb.noise import make_noise
    from sedd_nb.train import (Procs, Run, RunData, TrainConfig, autocast_for, make_optimizer, score_entropy_for)
    cfg = TrainConfig.gpt2_small(out_dir='unused', model=S['model'], seq_len=S['L'], batch_size=batch, grad_accum=1,
                                 fused_loss=fused_loss, compile=compile, progress=False, device=str(dev),
                                 model_kw={'max_len': S['L']})
    torch.manual_seed(0)
    raw = build_model(cfg, S['V']).to(dev)
    ema = copy.deepcopy(raw).requires_grad_(False).eval()
    gen = torch.Generator(device=dev).manual_seed(1)
    data_gen = torch.Generator().manual_seed(2)
    def batches():
        while True: yield torch.randint(0, S['V'], (batch, S['L']), generator=data_gen)
    tok = types.SimpleNamespace(eos_id=S['V'] - 1, vocab_size=S['V'])
    rd = RunData(tok, {}, [0], [], [gen], None)
    graph = make_graph('absorbing', S['V'])
    procs = Procs(False, 0, 1, 0, dev)
    fwd = torch.compile(raw) if compile else raw
    return Run(cfg, Path('unused'), procs, rd, graph, make_noise('loglinear'), raw, fwd, ema, make_optimizer(raw, cfg),
               autocast_for(cfg, dev), score_entropy_for(cfg, graph, dev), [batches()], None, [])


class Clock:
    "Milliseconds of a block of GPU work (bench/timing.py: CUDA events on a GPU, perf_counter on the CPU)."
    def __init__(self, dev): self.cuda = dev.type == 'cuda'
    def sync(self): timing.sync(self.cuda)
    def time(self, fn, n): return timing.ms_per_call(fn, n, self.cuda)


def old_ema_update(ema_model, model, decay, ok=None):
    "The EMA before this work: a Python loop over state_dict(), one lerp per tensor (`ok` read on the host)."
    import torch
    if ok is not None and not bool(ok): return
    with torch.no_grad():
        for e, p in zip(ema_model.state_dict().values(), model.state_dict().values()):
            if e.is_floating_point(): e.lerp_(p.to(e.dtype), 1 - decay)
            else: e.copy_(p)


@contextlib.contextmanager
def switched_off(name, run):
    "Within the block, `run` steps with optimisation `name` switched off (restored after)."
    import torch
    T = importlib.import_module("sedd_nb.train")   # the module (`sedd_nb.train` is also the function)
    from sedd_nb.model import SEDDModel, rotary_angles
    saved = {}
    if name == 'fused AdamW':
        saved['opt'] = run.opt
        run.opt = torch.optim.AdamW([dict(params=g['params'], weight_decay=g['weight_decay'], betas=g['betas'])
                                     for g in saved['opt'].param_groups], lr=run.cfg.lr, eps=1e-8, foreach=True)
    elif name == 'foreach EMA':
        saved['ema'] = T.ema_update; T.ema_update = old_ema_update
    elif name == 'no host reads':
        saved['step'] = T.accumulate_gradients
        def reading(run_, step):
            loss = saved['step'](run_, step)
            float(loss)                                       # the step read its loss ...
            return loss
        T.accumulate_gradients = reading
        saved['clip'] = torch.nn.utils.clip_grad_norm_
        def clip(*a, **k):
            n = saved['clip'](*a, **k); float(n); return n        # ... and its gradient norm
        torch.nn.utils.clip_grad_norm_ = clip
        saved['check'] = T.as_batch
        def as_batch(b, dev):
            x0, m = saved['check'](b, dev); int(x0.min()); int(x0.max()); return x0, m   # ... and checked the batch
        T.as_batch = as_batch
    elif name == 'fused loss':
        saved['se'] = run.score_entropy; run.score_entropy = None
    elif name == 'rotary table':
        saved['rot'] = SEDDModel.rotary
        def fresh(self, pos, device, dtype=torch.float32):
            at = torch.arange(pos, device=device) if isinstance(pos, int) else pos
            return rotary_angles(at, self.cfg.head_dim, self.cfg.rope_base, dtype)
        SEDDModel.rotary = fresh
        saved['fwd'] = run.fwd
        if run.cfg.compile: torch._dynamo.reset(); run.fwd = torch.compile(run.raw)
    try: yield
    finally:
        if 'opt' in saved: run.opt = saved['opt']
        if 'ema' in saved: T.ema_update = saved['ema']
        if 'step' in saved:
            T.accumulate_gradients, torch.nn.utils.clip_grad_norm_, T.as_batch = saved['step'], saved['clip'], saved['check']
        if 'se' in saved: run.score_entropy = saved['se']
        if 'rot' in saved:
            SEDDModel.rotary, run.fwd = saved['rot'], saved['fwd']
            if run.cfg.compile: torch._dynamo.reset()


def measure_step(S, dev, clock, run, peak, flops):
    "ms per step, tokens/s, MFU and the GPU-busy fraction of `run`'s train_step."
    import torch
    from sedd_nb.train import train_step
    k = iter(range(10**9))
    one = lambda: train_step(run, next(k))
    for _ in range(S['warm']): one()
    ms = clock.time(one, S['timed'])
    B = run.cfg.batch_size
    tok_s = B * S['L'] / ms * 1e3
    acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if clock.cuda else [])
    clock.sync(); t = time.perf_counter()
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(S['prof']): one()
        clock.sync()
    wall_us = (time.perf_counter() - t) * 1e6
    busy = None
    if clock.cuda:
        dev_us = sum(e.self_device_time_total for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA)
        busy = dev_us / wall_us
    return dict(batch=B, ms=ms, tokens_per_s=tok_s, mfu=None if peak is None else flops * tok_s / peak, gpu_busy=busy)


def check_syncs(run, clock):
    "4 steps under set_sync_debug_mode('error') (a GPU only): 'none', or the first sync's message."
    import torch
    from sedd_nb.train import train_step
    if not clock.cuda: return 'not checked (no GPU; tests/test_train_syncs.py counts them on the CPU)'
    clock.sync()
    torch.cuda.set_sync_debug_mode('error')
    try:
        for s in range(4): train_step(run, 1000 + s)
        return 'none'
    except RuntimeError as e: return str(e).splitlines()[0][:300]
    finally: torch.cuda.set_sync_debug_mode('default')


def measure_switches(S, dev, clock, run):
    "Per optimisation: median ms per step with it (A) and without it (B), interleaved in rounds."
    from sedd_nb.train import train_step
    k = iter(range(10**6, 10**9))
    one = lambda: train_step(run, next(k))
    out = {}
    for name in ('rotary table', 'fused AdamW', 'foreach EMA', 'no host reads', 'fused loss'):
        on, off = [], []
        for _ in range(S['rounds']):
            for _ in range(2): one()
            on.append(clock.time(one, S['timed'] // 2))
            with switched_off(name, run):
                for _ in range(S['warm'] if name == 'rotary table' else 2): one()   # a recompile: warm it up
                off.append(clock.time(one, S['timed'] // 2))
        a, b = statistics.median(on), statistics.median(off)
        out[name] = dict(on_ms=a, off_ms=b, speedup=b / a)
    return out


def kernel_table(S, dry):
    "bench/fused_loss.py's absorbing rows at the script's N (its own process and table)."
    cmd = [sys.executable, str(Path(__file__).parent / 'fused_loss.py'), '--graph', 'absorbing', '--n', *map(str, S['kernel_n'])]
    if dry: cmd += ['--vocab', str(S['V'] + 1)]
    text = []
    for dtype in ('float32',) if dry else ('float32', 'bfloat16'):
        r = subprocess.run(cmd + ['--dtype', dtype], capture_output=True, text=True, timeout=120 if not dry else 600)
        text.append(f"$ {' '.join(cmd[1:])} --dtype {dtype}  (exit {r.returncode})\n{r.stdout[-4000:]}{r.stderr[-1500:] if r.returncode else ''}")
    return '\n'.join(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes, Triton interpreter')
    ap.add_argument('--skip', nargs='*', default=[], choices=['step', 'syncs', 'switches', 'kernel'])
    a = ap.parse_args(argv)
    if a.dry_run: os.environ['TRITON_INTERPRET'] = '1'
    import torch
    from sedd_nb.model import flops_per_token
    dev = torch.device('cuda' if torch.cuda.is_available() and not a.dry_run else 'cpu')
    if not a.dry_run and dev.type != 'cuda': sys.exit("no CUDA GPU here: run with --dry-run to check the script on the CPU")
    S, out = sizes(a.dry_run), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in ('report.md', 'report.json'): (out / f).unlink(missing_ok=True)      # never report an earlier run
    clock = Clock(dev)
    name = torch.cuda.get_device_name(dev) if clock.cuda else 'CPU (dry run: not GPU figures)'
    from sedd_nb.track import peak_flops
    peak = peak_flops(dev)                     # sedd_nb.track's table of dense bf16 peaks
    rep = dict(device=name, dry_run=a.dry_run, torch=torch.__version__, date=time.strftime('%Y-%m-%d'),
               peak_bf16=peak, vocab=S['V'] + 1, seq_len=S['L'], model=S['model'], sections={})
    t_start = time.time()
    runs = {}
    if 'step' not in a.skip:
        rows = []
        for B in S['batches']:
            run = runs[B] = make_run(S, dev, B, compile=clock.cuda)
            flops = flops_per_token(run.raw.cfg, S['L'])
            rows.append(dict(measure_step(S, dev, clock, run, peak, flops), flops_per_token=flops))
        rep['sections']['step'] = rows
    first = runs.get(S['batches'][0]) or make_run(S, dev, S['batches'][0], compile=clock.cuda)
    if 'syncs' not in a.skip: rep['sections']['syncs'] = check_syncs(first, clock)
    if 'switches' not in a.skip: rep['sections']['switches'] = measure_switches(S, dev, clock, first)
    if 'kernel' not in a.skip: rep['sections']['kernel'] = kernel_table(S, a.dry_run)
    rep['seconds'] = round(time.time() - t_start, 1)
    (out / 'report.json').write_text(json.dumps(rep, indent=1))
    (out / 'report.md').write_text(markdown(rep))
    print(markdown(rep))


def markdown(rep) -> str:
    peak = 'unknown' if rep['peak_bf16'] is None else f"{rep['peak_bf16'] / 1e12:.0f} TFLOP/s"
    L = [f"# GPT-2-scale training pace: {rep['device']}", '',
         f"torch {rep['torch']}, {rep['date']}; network `{rep['model']}`, output width {rep['vocab']:,}, seq "
         f"{rep['seq_len']}; MFU over a bf16 dense peak of {peak}; {rep['seconds']} s.", '']
    sec = rep['sections']
    if 'step' in sec:
        L += ['## Training step (compile, bf16, fused loss)', '',
              '| batch | ms/step | tokens/s | MFU | GPU busy | FLOP/token |', '| --- | --- | --- | --- | --- | --- |']
        for r in sec['step']:
            mfu = '-' if r['mfu'] is None else f"{r['mfu']:.3f}"
            busy = '-' if r['gpu_busy'] is None else f"{r['gpu_busy']:.2f}"
            L.append(f"| {r['batch']} | {r['ms']:.2f} | {r['tokens_per_s']:,.0f} | {mfu} | {busy} | {r['flops_per_token'] / 1e6:.0f} M |")
        L.append('')
    if 'syncs' in sec: L += [f"Host syncs in a step (`set_sync_debug_mode('error')`): {sec['syncs']}", '']
    if 'switches' in sec:
        L += ['## Each optimisation against its own switch-off (batch %d, medians of interleaved rounds)' %
              sec['step'][0]['batch'] if 'step' in sec else '## Switches', '',
              '| optimisation | on: ms/step | off: ms/step | off / on |', '| --- | --- | --- | --- |']
        for k, v in sec['switches'].items(): L.append(f"| {k} | {v['on_ms']:.2f} | {v['off_ms']:.2f} | {v['speedup']:.3f} |")
        L.append('')
    if 'kernel' in sec: L += ['## Fused loss kernel (bench/fused_loss.py)', '', '```', sec['kernel'], '```', '']
    return '\n'.join(L)


if __name__ == '__main__':
    main()
