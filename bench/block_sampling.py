"""Block diffusion sampling speed: tokens/s with the key/value cache against without, at several lengths.

    python bench/block_sampling.py [--run runs/study/blk16_b300_s0] [--lengths 64 256 1024] [--n 8] [--repeats 3]

Without `--run` a char-size block model with random weights (block 16, max_len 64) is timed; speed does not
depend on the weights. Both samplers draw the same tokens (checked here on every row); "calls" counts network
calls per block (first hitting: one reveal per call). The SEDD row, from the same run's config without blocks and
the analytic sampler with one step per token, is the reference measured in the same process.
"""
import argparse, platform, time

import torch

from sedd_nb.blocks import sample_blocks
from sedd_nb.graphs import Absorbing
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.noise import LogLinearNoise
from sedd_nb.sampling import sample_windows


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', default=None)
    ap.add_argument('--lengths', type=int, nargs='+', default=[64, 256, 1024])
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--context', type=int, default=48, help='clean tokens a block reads (a run: seq_len - block)')
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.run:
        from sedd_nb.hub import load_checkpoint
        bd = load_checkpoint(a.run)
        model, graph, noise = bd['model'], bd['graph'], bd['noise']
    else:
        V = 96
        model, graph, noise = SEDDModel(ModelConfig.char(V + 1, max_len=64, output='subs', sigma_cond=False,
                                                         block_size=16)).eval(), Absorbing(V), LogLinearNoise()
    b = model.cfg.block_size
    plain = SEDDModel(ModelConfig(**{**model.cfg.to_dict(), 'block_size': None})).eval()
    print(f"CPU {platform.machine()}, {torch.get_num_threads()} threads; block {b}, context {a.context}, n = {a.n}, "
          f"best of {a.repeats}")
    print(f"{'length':>7} {'cached tok/s':>13} {'uncached tok/s':>15} {'cached / uncached':>18} {'SEDD windows tok/s':>19}")
    for length in a.lengths:
        g = lambda: torch.Generator().manual_seed(0)
        tc, xc = best_of(lambda: sample_blocks(model, graph, noise, a.n, length, context=a.context, generator=g()), a.repeats)
        tu, xu = best_of(lambda: sample_blocks(model, graph, noise, a.n, length, context=a.context, cache=False,
                                               generator=g()), a.repeats)
        assert torch.equal(xc, xu), 'cached and uncached samples differ'
        W = a.context + b
        ts, _ = best_of(lambda: sample_windows(lambda x, s: plain(x, s), graph, noise, (a.n, length), W, window=W,
                                               predictor='analytic', generator=g()), a.repeats)
        tok = a.n * length
        print(f"{length:>7} {tok / tc:>13.0f} {tok / tu:>15.0f} {tu / tc:>18.2f} {tok / ts:>19.0f}", flush=True)


if __name__ == '__main__':
    main()
