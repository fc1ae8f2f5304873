"""Block diffusion sampling speed: tokens/s with the key/value cache against without, at several lengths.

    python bench/block_sampling.py [--run runs/study/blk16_b300_s0] [--lengths 64 256 1024] [--n 8] [--repeats 3]
    python bench/block_sampling.py --model small --device cuda --lengths 1024 4096 --context 1008   # GPT-2 size

Without `--run` a block model with random weights is timed (`--model char`: block 16, max_len 64, 96 characters;
`small`: the GPT-2-small shape, block 16, max_len 1024, V = 50257); speed does not depend on the weights. Both samplers draw the same tokens (checked here on every row); "calls" counts network
calls per block (first hitting: one reveal per call). The SEDD row, from the same run's config without blocks and
the analytic sampler with one step per token of a window (windows of context + block), is the reference measured in the same process.
"""
import argparse, contextlib, platform

import torch

from timing import best_of                   # bench/timing.py, the benchmarks' one clock

from sedd_nb.blocks import build_network, sample_blocks
from sedd_nb.graphs import Absorbing
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.noise import LogLinearNoise
from sedd_nb.generate import sample_windows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', default=None)
    ap.add_argument('--lengths', type=int, nargs='+', default=[64, 256, 1024])
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--context', type=int, default=48, help='clean tokens a block reads (a run: seq_len - block)')
    ap.add_argument('--model', choices=['char', 'small'], default='char')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--amp', action='store_true', help='bf16 autocast (CUDA)')
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.run:
        from sedd_nb.hub import load_checkpoint
        bd = load_checkpoint(a.run)
        model, graph, noise = bd['model'], bd['graph'], bd['noise']
    else:
        V, size = (96, ModelConfig.char) if a.model == 'char' else (50257, ModelConfig.small)
        model, graph, noise = build_network(size(V + 1, max_len=64 if a.model == 'char' else 1024, output='subs',
                                             sigma_cond=False, block_size=16)).eval(), Absorbing(V), LogLinearNoise()
    dev = torch.device(a.device)
    model = model.to(dev)
    b = model.cfg.block_size
    plain = SEDDModel(ModelConfig(**{**model.cfg.to_dict(), 'block_size': None})).to(dev).eval()
    cuda = dev.type == 'cuda'
    amp = (lambda: torch.autocast('cuda', dtype=torch.bfloat16)) if a.amp else contextlib.nullcontext
    where = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f"CPU {platform.machine()}, {torch.get_num_threads()} threads"
    print(f"{where}{', bf16' if a.amp else ''}; block {b}, context {a.context}, n = {a.n}, "
          f"best of {a.repeats}")
    print(f"{'length':>7} {'cached tok/s':>13} {'uncached tok/s':>15} {'cached / uncached':>18} {'SEDD windows tok/s':>19} {'same tokens':>12}")
    for length in a.lengths:
        with amp():                                    # bf16 when asked, around every timed call
            g = lambda: torch.Generator(device=dev).manual_seed(0)
            tc, xc = best_of(lambda: sample_blocks(model, graph, noise, a.n, length, context=a.context, device=dev,
                                                   generator=g()), a.repeats, cuda)
            tu, xu = best_of(lambda: sample_blocks(model, graph, noise, a.n, length, context=a.context, cache=False,
                                                   device=dev, generator=g()), a.repeats, cuda)
            same = float((xc == xu).float().mean())        # bitwise on the CPU in float32; bf16 may flip rare draws
            W = a.context + b
            ts, _ = best_of(lambda: sample_windows(lambda x, s: plain(x, s), graph, noise, (a.n, length), min(W, length), window=W,
                                                   predictor='analytic', device=dev, generator=g()), a.repeats, cuda)
            tok = a.n * length
            print(f"{length:>7} {tok / tc:>13.0f} {tok / tu:>15.0f} {tu / tc:>18.2f} {tok / ts:>19.0f} {same:>12.1%}", flush=True)


if __name__ == '__main__':
    main()
