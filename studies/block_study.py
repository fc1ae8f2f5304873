"""Block diffusion on the char tutorial, trained as BD3-LM trains: blocks of 4, 8 and 16 beside SEDD and AR at equal CPU time.

The protocol of `studies/char_recipe.py` (whose `config` and `heldout_elbo` this imports), scaled to a shared 2-core
machine (one thread per run, one run at a time):

1. `--search`: for each block size a short pilot run (`--pilot-steps`, the full window [0, 1], one time per
   block) and `clip_search` on held-out batches (BD3-LM's variance search). The window of least loss variance is
   the setting's `block_t_min`, `block_t_max`. Also measured on the pilot: the variance of the per-token loss with
   one time per sequence (`dse_loss`, the previous training), one time per block over [0, 1] (`block_loss`) and
   the chosen window. Written to studies/results/block_clip_search.json.
2. `--speed`: CPU seconds per optimizer step of every setting (`time.process_time`, one thread), so that a run of
   `budget` CPU seconds gets `budget / seconds per step` steps.
3. `--runs`: every setting and seed for `--budget` CPU seconds, scored on the same `--eval-chars` held-out
   characters (the ELBO with `--nodes` Gauss-Legendre nodes, the exact NLL for AR), and 64 samples of 64
   characters per number of tokens per call (1, 2, 4: SEDD with 64, 32, 16 analytic steps; block models with the
   first-hitting sampler, b / k calls per block; AR one token per call) scored for known words, character entropy
   and generative perplexity under one fixed scorer, the AR run of seed 0 (trained first).

    python studies/block_study.py --search --speed --runs ar blk4 blk8 blk16 sedd --seeds 0 1 --budget 90
    python studies/block_study.py --runs blk4_full blk1 --seeds 0 --budget 90      # controls, at blk4's speed
    python studies/block_study.py --table

Results: studies/results/block_study.jsonl (one line per run); `--table` prints the mean and range per setting.
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import char_recipe as cr                                         # config, heldout_elbo, SETTINGS, OUT
from sedd_nb.blocks import block_loss, clip_search, loss_variance
from sedd_nb.data import load_texts
from sedd_nb.eval import corpus_words, generative_ppl, heldout_tokens, sample_report
from sedd_nb.generate import sample_texts
from sedd_nb.losses import dse_loss
from sedd_nb.model import ModelScore
from sedd_nb.train import load_checkpoint, train

SIZES = (4, 8, 16)
RESULTS_DIR = Path(__file__).parent / 'results'
RESULTS, SEARCH = RESULTS_DIR / 'block_study.jsonl', RESULTS_DIR / 'block_clip_search.json'
SPEED = cr.OUT / 'blocks_speed.json'
PER_CALL = (1, 2, 4)                                             # tokens per network call of the samples
BLOCK = lambda b, win=(0., 1.): dict(model_kw=dict(block_size=b, output='subs', sigma_cond=False),
                                     block_t_min=win[0], block_t_max=win[1])


def settings():
    "The study's settings; a block size gets the window its search chose (the full [0, 1] before the search)."
    found = json.loads(SEARCH.read_text()) if SEARCH.exists() else {}
    out = {'ar': dict(objective='ar'), 'sedd': {}}
    for b in SIZES: out[f'blk{b}'] = BLOCK(b, found.get(str(b), {}).get('window', (0., 1.)))
    out['blk4_full'] = BLOCK(4)                                  # control: the full window, one time per block
    out['blk1'] = BLOCK(1)                                       # autoregression through the block path (t = 1)
    return out

SAME_SPEED = {'blk4_full': 'blk4', 'blk1': 'blk4'}              # the same network pass over 2L tokens: blk4's speed


def cpu_seconds_per_step(name, steps=30, warmup=5):
    "CPU seconds of one optimizer step of setting `name` (process time, so other work on the machine does not count)."
    import tempfile
    marks = {}
    def hook(event, step=None, **kw):
        if event == 'after_step': marks[step] = time.process_time()
    with tempfile.TemporaryDirectory() as d:
        train(cr.config(name, 0, steps + warmup, d), hook=hook)
    return (marks[warmup + steps] - marks[warmup]) / steps


def heldout_batches(bd, n_batches=8, batch=32):
    "The first n_batches x batch held-out sequences of the run's seq_len, as (x0, None) pairs."
    L = bd['cfg'].seq_len
    val = torch.as_tensor(heldout_tokens(bd)[:n_batches * batch * L].astype(np.int64)).view(n_batches, batch, L)
    return [(x, None) for x in val]


def search(pilot_steps, seed=0):
    "Pilot run per block size, then the window search and the variance of three estimators of the training loss."
    out = json.loads(SEARCH.read_text()) if SEARCH.exists() else {}
    for b in SIZES:
        if str(b) in out: continue
        name = f'pilot{b}'
        cr.SETTINGS[name] = BLOCK(b)
        run = cr.OUT / f'{name}_s{seed}'
        t0 = time.process_time()
        train(cr.config(name, seed, pilot_steps, run))
        bd = load_checkpoint(run)
        model, graph, noise = bd['model'], bd['graph'], bd['noise']
        held = heldout_batches(bd)
        g = torch.Generator().manual_seed(seed)
        found = clip_search(model, graph, noise, held, generator=g)
        window = next(iter(found))
        per_seq = loss_variance(lambda x0, m: dse_loss(ModelScore(model, m), graph, noise, x0, mask=m, generator=g), held)
        full = found[(0., 1.)]
        out[str(b)] = dict(window=list(window), pilot_steps=pilot_steps, cpu_s=round(time.process_time() - t0, 1),
                           var_one_t_per_sequence=per_seq, var_one_t_per_block=full, var_window=found[window],
                           ratio_per_block=per_seq / full, ratio_window=per_seq / found[window],
                           windows={f'{lo:g}-{hi:g}': v for (lo, hi), v in found.items()})
        print(f"b={b}: window {window}, variance per token: one t per sequence {per_seq:.3f}, one t per block "
              f"{full:.3f}, window {found[window]:.3f}", flush=True)
        RESULTS_DIR.mkdir(exist_ok=True)
        SEARCH.write_text(json.dumps(out, indent=1))


def sample_metrics(run_dir, scorer, vocab, n=64, length=64, seed=0):
    "Plain samples of the run's EMA weights at 1, 2 and 4 tokens per call, scored: known words, entropy, generative perplexity."
    bd = load_checkpoint(run_dir)
    cfg, model = bd['cfg'], bd['model']
    b = model.cfg.block_size
    out = {}
    for k in (PER_CALL if cfg.objective != 'ar' else (1,)):
        if b is not None and k > b: continue                                  # a block reveals at most b per call
        if cfg.objective == 'ar': steps, pred = 0, 'analytic'
        elif b is None: steps, pred = length // k, 'analytic'                 # SEDD: length / k calls in all
        else: steps, pred = b // k, 'first_hitting'                           # blocks: b / k calls per block
        t0 = time.process_time()
        texts = sample_texts(model, bd['graph'], bd['noise'], bd['tokenizer'], n, length, steps, cfg.objective,
                             seed=seed, predictor=pred)
        secs = time.process_time() - t0
        rep = sample_report(texts, vocab)
        out[str(k)] = dict(known_words=rep['known_words'], char_entropy=rep['char_entropy'],
                           gen_ppl=generative_ppl(texts, scorer)['ppl'], sample_cpu_s=round(secs, 2),
                           calls_per_char=(1 / k) + (1 / b if b else 0), samples=texts[:3])
    return out


def runs(names, seeds, budget, eval_chars, nodes):
    speed, stt = json.loads(SPEED.read_text()), settings()
    cr.SETTINGS.update(stt)
    vocab = corpus_words(load_texts('pydoc'))
    done = {(r['setting'], r['seed'], r['budget']) for r in map(json.loads, RESULTS.read_text().splitlines())} \
        if RESULTS.exists() else set()
    scorer = None
    for seed in seeds:
        for name in names:
            run = cr.OUT / f'{name}_b{int(budget)}_s{seed}'
            if (name, seed, budget) in done: continue
            steps = int(round(budget / speed[SAME_SPEED.get(name, name)]))
            t0 = time.process_time()
            train(cr.config(name, seed, steps, run))
            cpu = time.process_time() - t0
            if scorer is None: scorer = load_checkpoint(cr.OUT / f'ar_b{int(budget)}_s0')     # one scorer for all seeds
            bpc = cr.heldout_elbo(run, eval_chars, nodes)
            samples = sample_metrics(run, scorer, vocab, seed=seed)
            rec = dict(setting=name, seed=seed, budget=budget, steps=steps, train_cpu_s=round(cpu, 1), bpc=bpc,
                       window=[stt[name].get('block_t_min', 0.), stt[name].get('block_t_max', 1.)],
                       known_words=samples['1']['known_words'], char_entropy=samples['1']['char_entropy'],
                       gen_ppl=samples['1']['gen_ppl'], per_call=samples)
            with open(RESULTS, 'a') as f: f.write(json.dumps(rec) + '\n')
            print(json.dumps({k: v for k, v in rec.items() if k != 'per_call'}), flush=True)


def table():
    rows = [json.loads(l) for l in RESULTS.read_text().splitlines()]
    by = {}
    for r in rows: by.setdefault(r['setting'], []).append(r)
    keys = [('bpc', 'bits/char', '{:.3f}'), ('known_words', 'known words', '{:.1%}'),
            ('gen_ppl', 'gen. ppl', '{:.1f}'), ('char_entropy', 'char entropy', '{:.2f}')]
    print('| setting | steps | seeds | ' + ' | '.join(h for _, h, _ in keys) + ' |')
    print('|---|---|---|' + '---|' * len(keys))
    for s, rs in by.items():
        cells = [f"{fmt.format(np.mean([r[k] for r in rs]))} ({fmt.format(min(r[k] for r in rs))}-{fmt.format(max(r[k] for r in rs))})"
                 for k, _, fmt in keys]
        print(f"| {s} | {rs[0]['steps']} | {len(rs)} | " + ' | '.join(cells) + ' |')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--search', action='store_true')
    ap.add_argument('--pilot-steps', type=int, default=120)
    ap.add_argument('--speed', action='store_true')
    ap.add_argument('--runs', nargs='*', default=[])
    ap.add_argument('--seeds', nargs='*', type=int, default=[0, 1])
    ap.add_argument('--budget', type=float, default=150, help='training CPU seconds per run, at the measured speed')
    ap.add_argument('--eval-chars', type=int, default=65536)
    ap.add_argument('--nodes', type=int, default=8)
    ap.add_argument('--table', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    cr.OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    if a.search: search(a.pilot_steps)
    if a.speed:
        cr.SETTINGS.update(settings())
        speed = {name: cpu_seconds_per_step(name) for name in (a.runs or settings())}
        for name, s in speed.items(): print(f"{name:8s} {s * 1e3:7.1f} CPU ms/step (one thread)", flush=True)
        SPEED.write_text(json.dumps(speed, indent=1))
    if a.runs: runs(a.runs, a.seeds, a.budget, a.eval_chars, a.nodes)
    if a.table: table()
    print(f"study process: {time.process_time() - t0:.0f} CPU seconds", flush=True)


if __name__ == '__main__':
    main()
