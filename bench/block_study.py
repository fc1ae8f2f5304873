"""Block diffusion on the char tutorial: block sizes 1, 4, 16, 64 beside SEDD and AR at equal training time.

The protocol of `bench/char_recipe.py` (whose settings and helpers this imports): `--speed` times every
setting's optimizer steps in one process with `--threads` threads; a run then gets `budget / (seconds per step)`
steps, so every setting trains for the same CPU time. Each run is scored on the same 65,536 held-out characters
(ELBO with 32 Gauss-Legendre nodes, or the exact NLL for AR), and 64 samples of 64 characters with plain
sampling (no top-p, no temperature: SEDD the analytic sampler with 64 steps, block models the first-hitting
sampler with one reveal per call, AR ancestral) are scored for known words of the corpus, character entropy
and generative perplexity under one fixed AR scorer (`--scorer`, the tutorial's trained AR run).

    python bench/block_study.py --speed
    python bench/block_study.py --runs sedd ar blk1 blk4 blk16 blk64 --seeds 0 1 2 --budget 300
    python bench/block_study.py --table --figure bench/results/block_study.png

Results go to runs/study/blocks.jsonl (one line per run); `--table` prints the mean and spread per setting.
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import char_recipe as cr                                         # config, seconds_per_step, heldout_elbo, SETTINGS
from sedd_nb.data import load_texts
from sedd_nb.eval import corpus_words, generative_ppl, sample_report
from sedd_nb.generate import sample_texts
from sedd_nb.model import block_size_of
from sedd_nb.train import load_checkpoint, train

BLOCK = lambda b: dict(model_kw=dict(block_size=b, output='subs', sigma_cond=False))
STUDY = {'sedd': {}, 'ar': dict(objective='ar'), **{f'blk{b}': BLOCK(b) for b in (1, 4, 16, 64)}}
cr.SETTINGS.update(STUDY)
RESULTS = cr.OUT / 'blocks.jsonl'
SPEED = cr.OUT / 'blocks_speed.json'


def sample_metrics(run_dir, scorer, vocab, n=64, length=64, seed=0):
    "Plain samples of the run's EMA weights, scored: known words, character entropy, generative perplexity, seconds."
    bd = load_checkpoint(run_dir)
    cfg, model = bd['cfg'], bd['model']
    ar = cfg.objective == 'ar'
    t0 = time.time()
    texts = sample_texts(model, bd['graph'], bd['noise'], bd['tokenizer'], n, length,
                         64 if not ar else 0, cfg.objective, seed=seed,
                         predictor='analytic' if ar or block_size_of(model) is None else 'first_hitting')
    secs = time.time() - t0
    rep = sample_report(texts, vocab)
    return dict(known_words=rep['known_words'], char_entropy=rep['char_entropy'],
                gen_ppl=generative_ppl(texts, scorer)['ppl'], sample_s=secs, samples=texts[:4])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--speed', action='store_true')
    ap.add_argument('--runs', nargs='*', default=[])
    ap.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    ap.add_argument('--budget', type=float, default=300, help='training CPU seconds per run, at the measured speed')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--scorer', default='nbs/runs/char_ar', help='AR run that scores the samples (generative perplexity)')
    ap.add_argument('--eval-chars', type=int, default=65536)
    ap.add_argument('--nodes', type=int, default=32)
    ap.add_argument('--table', action='store_true')
    ap.add_argument('--figure', default=None, help='with --table: write the figure here')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cr.OUT.mkdir(parents=True, exist_ok=True)
    if a.speed:
        speed = json.loads(SPEED.read_text()) if SPEED.exists() else {}
        for name in (a.runs or STUDY):
            speed[name] = cr.seconds_per_step(name)
            print(f"{name:8s} {speed[name] * 1e3:7.1f} ms/step ({a.threads} threads)", flush=True)
            SPEED.write_text(json.dumps(speed, indent=1))
    elif a.runs:
        speed, scorer = json.loads(SPEED.read_text()), load_checkpoint(a.scorer)
        vocab = corpus_words(load_texts('pydoc'))
        done = {(r['setting'], r['seed'], r['budget']) for r in map(json.loads, RESULTS.read_text().splitlines())} \
            if RESULTS.exists() else set()
        for seed in a.seeds:
            for name in a.runs:
                if (name, seed, a.budget) in done: continue
                steps = int(round(a.budget / speed[name]))
                run = cr.OUT / f'{name}_b{int(a.budget)}_s{seed}'
                t0 = time.process_time()
                train(cr.config(name, seed, steps, run))
                cpu = time.process_time() - t0
                rec = dict(setting=name, seed=seed, budget=a.budget, steps=steps, train_cpu_s=round(cpu, 1),
                           bpc=cr.heldout_elbo(run, a.eval_chars, a.nodes), **sample_metrics(run, scorer, vocab, seed=seed))
                with open(RESULTS, 'a') as f: f.write(json.dumps(rec) + '\n')
                print(json.dumps({k: v for k, v in rec.items() if k != 'samples'}), flush=True)
    if a.table:
        rows = [json.loads(l) for l in RESULTS.read_text().splitlines()]
        by = {}
        for r in rows: by.setdefault(r['setting'], []).append(r)
        keys = [('bpc', 'bits/char', '{:.3f}'), ('known_words', 'known words', '{:.1%}'),
                ('gen_ppl', 'gen. ppl', '{:.1f}'), ('char_entropy', 'char entropy', '{:.2f}')]
        print('| setting | steps | seeds | ' + ' | '.join(h for _, h, _ in keys) + ' |')
        print('|---|---|---|' + '---|' * len(keys))
        order = [s for s in STUDY if s in by]
        for s in order:
            rs = by[s]
            cells = [f"{fmt.format(np.mean([r[k] for r in rs]))} ({fmt.format(min(r[k] for r in rs))}-{fmt.format(max(r[k] for r in rs))})"
                     for k, _, fmt in keys]
            print(f"| {s} | {rs[0]['steps']} | {len(rs)} | " + ' | '.join(cells) + ' |')
        summary = {s: {k: float(np.mean([r[k] for r in by[s]])) for k, _, _ in keys} for s in order}
        (cr.OUT / 'blocks_summary.json').write_text(json.dumps(summary, indent=1))


if __name__ == '__main__':
    main()
