"""The whole `char` and `char_blocks` presets, three seeds each: does block diffusion (blocks of 4) beat SEDD at the preset budget?

Chapter 15's block study compares settings at 90 CPU seconds; the presets train about four times longer (`char`:
3,300 steps, `char_blocks`: 1,550, the same CPU time). This study trains each preset as it is, changing only the
seed and the run folder, on one thread, one run at a time, and scores every run as `block_study.py` does:

* the training's CPU seconds (`time.process_time`: on a shared machine wall time counts the other jobs too);
* the held-out ELBO in bits/char of the EMA weights on the same first `--eval-chars` held-out characters for every
  run (`char_recipe.heldout_elbo`, `--nodes` Gauss-Legendre nodes, more than the trainer's 8), beside the trainer's
  own final estimate (4 batches, 8 nodes);
* 64 samples of 64 characters at 1, 2 and 4 tokens per call (`block_study.sample_metrics`): known words, character
  entropy, and generative perplexity under the block study's scorer (its AR setting, seed 0, 714 steps, trained
  here first into the same folder; a weak scorer, so the perplexities compare runs of this study only).

    python studies/preset_study.py --seeds 0 1 2 --out /tmp/preset_study     # 6 runs and the scorer: 2,582 CPU seconds
    python studies/preset_study.py --table

Results: studies/results/preset_study.jsonl (one line per run; a run already there is not trained again).
"""
import argparse, json, shutil, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import block_study as bs                                          # sample_metrics, RESULTS_DIR
import char_recipe as cr                                          # config (of the scorer), heldout_elbo
from sedd_nb.data import load_texts
from sedd_nb.eval import corpus_words
from sedd_nb.train import TrainConfig, load_checkpoint, train

PRESETS = ('char', 'char_blocks')
RESULTS = bs.RESULTS_DIR / 'preset_study.jsonl'
SCORER_STEPS = 714                                                # the block study's AR scorer (90 CPU seconds)


def preset(name, seed, out_dir, steps=None):
    "The preset `name` as it is, but for the seed, the run folder, no progress bar and (smoke tests only) the steps."
    kw = dict(seed=seed, out_dir=str(out_dir), progress=False)
    if steps: kw.update(steps=steps, eval_every=0, ckpt_every=steps)
    return getattr(TrainConfig, name)(**kw)


def train_timed(cfg):
    "Train `cfg` from scratch; (CPU seconds, the trainer's final held-out bits/char). Kept beside the run for reruns."
    note = Path(cfg.out_dir) / 'train_cpu.json'
    if note.exists(): return tuple(json.loads(note.read_text()))
    shutil.rmtree(cfg.out_dir, ignore_errors=True)                # a half-trained run would resume, and miscount
    t0 = time.process_time()
    res = train(cfg)
    out = (round(time.process_time() - t0, 1), res['val_bpt'])
    note.write_text(json.dumps(out))
    return out


def scorer(out, steps=None):
    "The block study's AR scorer, trained into `out` if it is not there."
    run = out / 'ar_scorer'
    train_timed(cr.config('ar', 0, steps or SCORER_STEPS, run))
    return load_checkpoint(run)


def runs(presets, seeds, out, eval_chars, nodes, steps=None, results=RESULTS):
    done = {(r['preset'], r['seed']) for r in map(json.loads, results.read_text().splitlines())} if results.exists() else set()
    todo = [(s, p) for s in seeds for p in presets if (p, s) not in done]
    if not todo: return
    ar, vocab = scorer(out, steps), corpus_words(load_texts('pydoc'))
    for seed, name in todo:
        run = out / f'{name}_s{seed}'
        cfg = preset(name, seed, run, steps)
        cpu, trainer_bpc = train_timed(cfg)
        t0 = time.process_time()
        bpc = cr.heldout_elbo(run, eval_chars, nodes)
        per_call = bs.sample_metrics(run, ar, vocab, seed=seed)
        rec = dict(preset=name, seed=seed, steps=cfg.steps, train_cpu_s=cpu, bpc=bpc, eval_chars=eval_chars,
                   nodes=nodes, trainer_bpc=trainer_bpc, score_cpu_s=round(time.process_time() - t0, 1),
                   known_words={k: v['known_words'] for k, v in per_call.items()},
                   gen_ppl={k: v['gen_ppl'] for k, v in per_call.items()}, per_call=per_call)
        results.parent.mkdir(exist_ok=True)
        with open(results, 'a') as f: f.write(json.dumps(rec) + '\n')
        print(json.dumps({k: v for k, v in rec.items() if k != 'per_call'}), flush=True)


COLUMNS = [('train CPU s', lambda r: r['train_cpu_s'], '{:.0f}'), ('bits/char', lambda r: r['bpc'], '{:.3f}'),
           ('trainer bits/char', lambda r: r['trainer_bpc'], '{:.3f}')] + \
          [(f'known words, {k}/call', lambda r, k=k: r['known_words'][k], '{:.1%}') for k in ('1', '2', '4')] + \
          [(f'gen. ppl, {k}/call', lambda r, k=k: r['gen_ppl'][k], '{:.1f}') for k in ('1', '4')]


def table(results=RESULTS):
    "One row per run, then the mean (min-max) per preset."
    rows = sorted(map(json.loads, results.read_text().splitlines()), key=lambda r: (r['preset'], r['seed']))
    print('| preset | seed | steps | ' + ' | '.join(h for h, _, _ in COLUMNS) + ' |')
    print('|---|---|---|' + '---|' * len(COLUMNS))
    for r in rows: print(f"| {r['preset']} | {r['seed']} | {r['steps']} | " + ' | '.join(fmt.format(f(r)) for _, f, fmt in COLUMNS) + ' |')
    for name in dict.fromkeys(r['preset'] for r in rows):
        rs = [r for r in rows if r['preset'] == name]
        cells = [f"{fmt.format(np.mean([f(r) for r in rs]))} ({fmt.format(min(f(r) for r in rs))}-{fmt.format(max(f(r) for r in rs))})"
                 for _, f, fmt in COLUMNS]
        print(f"| {name} | mean (range) of {len(rs)} | {rs[0]['steps']} | " + ' | '.join(cells) + ' |')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--presets', nargs='*', default=list(PRESETS))
    ap.add_argument('--seeds', nargs='*', type=int, default=[])
    ap.add_argument('--out', type=Path, default=Path('/tmp/preset_study'), help='run folders (not in the repository)')
    ap.add_argument('--eval-chars', type=int, default=65536)
    ap.add_argument('--nodes', type=int, default=32)
    ap.add_argument('--steps', type=int, default=None, help='smoke test only: train this many steps (and the scorer too)')
    ap.add_argument('--results', type=Path, default=RESULTS)
    ap.add_argument('--table', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    if a.seeds: runs(a.presets, a.seeds, a.out, a.eval_chars, a.nodes, a.steps, a.results)
    if a.table: table(a.results)
    print(f"study process: {time.process_time() - t0:.0f} CPU seconds", flush=True)


if __name__ == '__main__':
    main()
