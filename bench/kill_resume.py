"""Kill a training run with SIGKILL at random moments until it finishes; compare it bit for bit with an uninterrupted run.

Each sequence trains `char_tiny` for `--steps` steps with a checkpoint every step (so many kills land inside a
checkpoint write), restarting it after every kill; a kill comes a random 1-4 logged steps after a start, plus a
random fraction of a step. At the end it reports the number of kills, the temp files found
after kills (and left at the end), the checkpoints that failed to load, and whether the final weights, EMA,
optimizer (learning rate included), RNG and loader states and the metrics log equal those of one uninterrupted run.

    python bench/kill_resume.py --sequences 3 --steps 30
"""
import argparse, json, os, random, signal, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

import torch

from sedd_nb.checkpoint import state_diff

SCRIPT = textwrap.dedent('''
    import sys, torch
    torch.set_num_threads(1)
    from sedd_nb.train import TrainConfig, train
    out, cache, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    train(TrainConfig.char_tiny(out_dir=out, cache_dir=cache, steps=steps, ckpt_every=1, keep_last=2, progress=False,
                                ema=0.9, sample_steps=2, n_samples=1, log_every=1, warmup=5))
''')
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONHASHSEED': '0'}


def equal_states(a, b):
    "Names of the parts of two checkpoints that differ (empty: bitwise equal)."
    parts = ('model', 'ema', 'optimizer', 'rng', 'shards')
    return sorted({d.split('.')[0].split('[')[0] for d in state_diff({p: a[p] for p in parts}, {p: b[p] for p in parts})})


def log_key(run):
    "What a log must repeat exactly: step, training loss and held-out value of every line (not the timings)."
    return [(r['step'], r.get('loss_bits_tok'), r.get('val_bpt'))
            for r in map(json.loads, (run / 'metrics.jsonl').read_text().splitlines())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sequences', type=int, default=3)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--max-delay', type=float, default=0.3, help='kill U(0, max-delay) s after a target logged step')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); script = d / 'run.py'; script.write_text(SCRIPT); cache = d / 'cache'
        straight = d / 'straight'
        subprocess.run([sys.executable, str(script), str(straight), str(cache), str(args.steps)], env=ENV, check=True)
        ref = torch.load(straight / f'ckpt_{args.steps:07d}.pt', weights_only=True)
        ref_log = log_key(straight)
        totals = dict(kills=0, temp_after_kill=0, temp_left=0, unreadable=0, equal=0, sequences=args.sequences)
        for s in range(args.sequences):
            run = d / f'killed{s}'
            t0 = time.time()
            while True:
                log = run / 'metrics.jsonl'
                seen = len(log.read_text().splitlines()) if log.exists() else 0
                target = seen + rnd.randint(1, 4)                 # kill a few logged steps later, mid-step
                p = subprocess.Popen([sys.executable, str(script), str(run), str(cache), str(args.steps)], env=ENV,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                while p.poll() is None and (len(log.read_text().splitlines()) if log.exists() else 0) < target:
                    time.sleep(0.01)
                if p.poll() is None:
                    time.sleep(rnd.uniform(0, args.max_delay))   # somewhere in the next step or its checkpoint
                    if p.poll() is None:
                        os.kill(p.pid, signal.SIGKILL); totals['kills'] += 1
                p.wait()
                totals['temp_after_kill'] += len(list(run.glob('.ckpt_*.tmp*')))
                err = p.stderr.read().decode()
                totals['unreadable'] += err.count('the newest checkpoint that loads')
                if p.returncode == -signal.SIGKILL: continue
                if p.returncode != 0: raise SystemExit(err[-3000:])
                break
            final = torch.load(run / f'ckpt_{args.steps:07d}.pt', weights_only=True)
            diff = equal_states(ref, final) + ([] if log_key(run) == ref_log else ['metrics.jsonl'])
            totals['equal'] += not diff
            totals['temp_left'] += len(list(run.glob('.ckpt_*.tmp*')))
            print(f"sequence {s}: {time.time() - t0:.0f} s, differs in: {', '.join(diff) or 'nothing'}", flush=True)
        print(json.dumps(totals))


if __name__ == '__main__':
    main()
