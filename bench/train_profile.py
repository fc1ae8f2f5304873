"""Where a training step's time goes: the gpt2_small network with and without the fused loss, per-step times and
the profiler's top kernels.

    python bench/train_profile.py --out DIR                 # one NVIDIA GPU: about 3 minutes
    python bench/train_profile.py --out DIR --dry-run       # CPU, tiny sizes (checks the script runs)

For each batch size and each of fused_loss True / False it runs the real `train` loop (compile, bf16 autocast),
times steps after a warm-up with `torch.cuda.synchronize()` in the `after_step` hook (a hook makes the loop read
each step's loss back at once: this profile sees a host sync per step; bench/gpu_perf.py times the step without
any), and profiles a few steps
with `torch.profiler`. Writes `DIR/profile.md`: a table of ms per step, tokens/s and the fused/unfused ratio,
then each run's twenty most expensive operations by device time.
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gpu_first_run import _bpe_file, sizes     # same sizes and tokenizer as the first-run script


def one_run(S, dev, fused, batch, d, warm, timed, prof_steps, model_kw=None):
    import torch
    from sedd_nb.config import build_model
    from sedd_nb.data import load_tokenizer
    from sedd_nb.model import flops_per_token, param_count
    from sedd_nb.train import TrainConfig, train
    cfg = TrainConfig.gpt2_small(out_dir=f'{d}/run_{fused}_{batch}', corpus='pydoc', tokenizer=f'{d}/bpe.json',
                                 model=S['model'], seq_len=S['L'], batch_size=batch, grad_accum=1,
                                 steps=warm + timed + prof_steps, warmup=5, eval_every=0, eval_batches=1, elbo_points=2,
                                 sample_every=0, sample_steps=2, n_samples=1, ckpt_every=0, log_every=10**6,
                                 compile=dev.type == 'cuda', fused_loss=fused, cache_dir=f'{d}/cache', progress=False,
                                 device=str(dev), val_frac=0.05, model_kw={'max_len': S['L'], **(model_kw or {})})
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    stamps, prof = {}, {}
    acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if dev.type == 'cuda' else [])

    def hook(event, step=None, **kw):
        if event != 'after_step': return
        sync(); stamps[step] = time.perf_counter()
        if step == warm + timed:
            prof['p'] = torch.profiler.profile(activities=acts); prof['p'].__enter__()
        if step == warm + timed + prof_steps: sync(); prof['p'].__exit__(None, None, None)

    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    train(cfg, hook=hook)
    ms = 1000 * (stamps[warm + timed] - stamps[warm]) / timed
    key = 'self_device_time_total' if dev.type == 'cuda' else 'self_cpu_time_total'
    table = prof['p'].key_averages().table(sort_by=key, row_limit=20, max_name_column_width=60)
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == 'cuda' else float('nan')
    mcfg = build_model(cfg, load_tokenizer(cfg.tokenizer).vocab_size).cfg
    return dict(ms=ms, tok_s=batch * S['L'] / ms * 1000, peak_gib=peak, table=table, params=param_count(mcfg),
                flops=flops_per_token(mcfg, S['L']), width=mcfg.vocab_size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--dry-run', action='store_true')
    ap.add_argument('--batches', type=int, nargs='+', default=None)
    ap.add_argument('--fused', choices=['both', 'on', 'off'], default='both')
    ap.add_argument('--model-kw', default='{}', help='JSON ModelConfig overrides, e.g. a block model: '
                    '\'{"block_size": 16, "output": "subs", "sigma_cond": false}\'')
    a = ap.parse_args()
    if a.dry_run: os.environ['TRITON_INTERPRET'] = '1'
    import torch
    dev = torch.device('cuda' if torch.cuda.is_available() and not a.dry_run else 'cpu')
    S = sizes(a.dry_run)
    batches = a.batches or ([2] if a.dry_run else [8, 16])
    warm, timed, prof_steps = (2, 3, 1) if a.dry_run else (30, 40, 3)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU (dry run)'
    from sedd_nb.track import peak_flops
    peak = peak_flops(dev)                                   # sedd_nb.track's table of dense bf16 peaks
    lines = [f"# Training step profile: {name}, torch {torch.__version__}", '',
             f"gpt2_small network (`model={S['model']}`, model_kw {a.model_kw}), seq_len {S['L']}, compile and bf16 autocast on the GPU; "
             f"ms per step over {timed} steps after {warm} warm-up steps. MFU = sedd_nb.model.flops_per_token (attention, "
             f"per-sequence adaLN, the output width the BPE gives) x tokens/s over the bf16 dense peak. The BPE is trained "
             f"on the pydoc corpus, so its width is far below GPT-2's 50,258: bench/gpu_perf.py has the figures at that width.", '',
             '| batch | fused_loss | ms/step | tokens/s | MFU | peak GiB |', '| --- | --- | --- | --- | --- | --- |']
    tables = []
    with tempfile.TemporaryDirectory() as d:
        _bpe_file(S, d)
        for batch in batches:
            res = {}
            for fused in {'both': (True, False), 'on': (True,), 'off': (False,)}[a.fused]:
                r = res[fused] = one_run(S, dev, fused, batch, d, warm, timed, prof_steps, json.loads(a.model_kw))
                mfu = '' if peak is None else f"{r['flops'] * r['tok_s'] / peak:.3f}"
                lines.append(f"| {batch} | {fused} | {r['ms']:.2f} | {r['tok_s']:.0f} | {mfu} | {r['peak_gib']:.2f} |")
                tables.append(f"## batch {batch}, fused_loss={fused}\n\n```\n{r['table']}\n```\n")
                print(lines[-1], flush=True)
            if len(res) == 2: lines.append(f"| {batch} | fused / unfused time | {res[True]['ms'] / res[False]['ms']:.3f} | | | |")
    (Path(a.out) / 'profile.md').write_text('\n'.join(lines + [''] + tables))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
