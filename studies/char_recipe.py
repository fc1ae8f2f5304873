"""The char tutorial's recipe study: train settings at equal wall time, several seeds, one held-out ELBO each.

Each setting is a set of `TrainConfig.char` overrides. `--speed` times every setting's optimizer steps (after a
warm-up, one process, the same threads) and writes seconds per step; a study run then gives each setting
`budget / (seconds per step)` steps, so all settings get the same training time on this machine even when the
runs themselves share the CPU with other work. Every run is scored the same way: the ELBO of its EMA weights on
the first `--eval-chars` held-out characters (64-character blocks) with `--nodes` Gauss-Legendre nodes in t.

    python studies/char_recipe.py --speed                          # seconds per step of every setting
    python studies/char_recipe.py --runs base ld subs --seeds 0 1 2 --budget 240
    python studies/char_recipe.py --table                          # mean and spread per setting
"""
import argparse, json, tempfile, time
from pathlib import Path

import numpy as np

from sedd_nb.train import TrainConfig, train, load_checkpoint
from sedd_nb.eval import heldout_tokens, zero_shot_ppl

OUT = Path('runs/study')
SUBS = dict(output='subs')
SETTINGS = {
    'base': {},
    'ld': dict(t_sampling='low_discrepancy'),
    'subs': dict(model_kw=SUBS),
    'subs_nosig': dict(model_kw=dict(SUBS, sigma_cond=False)),
    'ld_subs_nosig': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False)),
    'ld_subs_nosig_compile': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False), compile=True),
    'b16_lr1e-3': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False), batch_size=16, lr=1e-3),
    'b64_lr2e-3': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False), batch_size=64, lr=2e-3),
    'lr3e-3': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False), lr=3e-3),
    'deep4_w96': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False, n_layers=4, d_model=96)),
    'wide1_w192': dict(t_sampling='low_discrepancy', model_kw=dict(SUBS, sigma_cond=False, n_layers=1, d_model=192)),
    'deep4': dict(model_kw=dict(n_layers=4)),                       # the preset's recipe, 4 blocks of width 128
    'w192': dict(model_kw=dict(d_model=192, n_heads=6)),            # the preset's recipe, 2 blocks of width 192
    'ar': dict(objective='ar'),
}


def config(name, seed, steps, out_dir):
    kw = dict(SETTINGS[name])
    return TrainConfig.char(out_dir=str(out_dir), steps=steps, seed=seed, progress=False, eval_every=0,
                            ckpt_every=steps, sample_every=0, n_samples=1, sample_steps=8, **kw)


def seconds_per_step(name, steps=80, warmup=10):
    times = {}
    def hook(event, step=None, **kw):
        if event == 'after_step': times[step] = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        train(config(name, 0, steps + warmup, d), hook=hook)
    return (times[warmup + steps] - times[warmup]) / steps


def heldout_elbo(run_dir, eval_chars, nodes):
    "Bits per character of the run's EMA model on the first `eval_chars` held-out characters (the tutorial's measure)."
    bd = load_checkpoint(run_dir)
    val = heldout_tokens(bd)
    if len(val) < eval_chars: raise SystemExit(f"only {len(val)} held-out characters; raise val_frac")
    # one x_t per node and 64-character block, in batches of 64 blocks
    return zero_shot_ppl(bd, val, n_t=nodes, mc=1, batch_size=64, max_tokens=eval_chars, progress=False)['bits_per_token']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--speed', action='store_true')
    ap.add_argument('--runs', nargs='*', default=[])
    ap.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    ap.add_argument('--budget', type=float, default=240, help='training seconds per run, at the measured speed')
    ap.add_argument('--eval-chars', type=int, default=65536)
    ap.add_argument('--nodes', type=int, default=32)
    ap.add_argument('--table', action='store_true')
    ap.add_argument('--tag', default='', help='suffix of the results file')
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    speed_file, results = OUT / 'speed.json', OUT / f'results{args.tag}.jsonl'
    if args.speed:
        speed = json.loads(speed_file.read_text()) if speed_file.exists() else {}
        for name in (args.runs or SETTINGS):
            speed[name] = seconds_per_step(name)
            print(f"{name:24s} {speed[name] * 1e3:7.1f} ms/step", flush=True)
        speed_file.write_text(json.dumps(speed, indent=1))
    if args.runs and not args.speed:
        speed = json.loads(speed_file.read_text())
        done = {(r['setting'], r['seed'], r['budget']) for f in OUT.glob('results*.jsonl')
                for r in map(json.loads, f.read_text().splitlines())}
        for seed in args.seeds:
            for name in args.runs:
                if (name, seed, args.budget) in done: continue          # measured already (by any results file)
                steps = int(round(args.budget / speed[name]))
                run = OUT / f'{name}_b{int(args.budget)}_s{seed}'
                t0 = time.time()
                res = train(config(name, seed, steps, run))
                wall = time.time() - t0
                bpc = heldout_elbo(run, args.eval_chars, args.nodes)
                rec = dict(setting=name, seed=seed, budget=args.budget, steps=steps, bpc=bpc, wall=wall)
                with open(results, 'a') as f: f.write(json.dumps(rec) + '\n')
                print(json.dumps(rec), flush=True)
    if args.table:
        rows = [json.loads(l) for l in results.read_text().splitlines()]
        by = {}
        for r in rows: by.setdefault((r['setting'], r['budget']), []).append(r)
        print(f"| setting | budget s | steps | seeds | bits/char mean | spread (min - max) |\n|---|---|---|---|---|---|")
        for (name, b), rs in sorted(by.items(), key=lambda kv: np.mean([r['bpc'] for r in kv[1]])):
            v = [r['bpc'] for r in rs]
            print(f"| {name} | {b:.0f} | {rs[0]['steps']} | {len(v)} | {np.mean(v):.3f} | {min(v):.3f} - {max(v):.3f} |")


if __name__ == '__main__':
    main()
