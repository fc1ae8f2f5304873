"""Training throughput (tokens/s) of the `char_tiny` and `char` presets, eager vs torch.compile.

Runs the real `sedd_nb.train.train` loop for a few steps per setting and times the steps after a warm-up
(which absorbs compilation) with the loop's `after_step` hook. Prints a table with the compiled/eager ratio,
labelled with the device and the number of CPU threads.

    python bench/train_throughput.py [--steps 30] [--warmup 10] [--presets char_tiny char] [--device auto]
"""
import argparse, platform, tempfile, time

import torch

from sedd_nb.train import TrainConfig, train


def tokens_per_second(preset, compile_, steps, warmup, device):
    cfg = TrainConfig.from_preset(preset, out_dir=tempfile.mkdtemp(prefix='bench_'), steps=steps + warmup,
                                  warmup=min(5, steps), compile=compile_, ckpt_every=0, eval_every=0, eval_batches=1,
                                  elbo_points=1, sample_every=0, sample_steps=1, n_samples=1, progress=False,
                                  device=device, log_every=steps + warmup)
    stamps = {}

    def hook(event, step=None, **kw):
        if event == 'after_step':
            if device.startswith('cuda') or (device == 'auto' and torch.cuda.is_available()): torch.cuda.synchronize()
            stamps[step] = time.perf_counter()

    train(cfg, hook=hook)
    timed = steps - 1
    return timed * cfg.batch_size * cfg.seq_len / (stamps[warmup + steps] - stamps[warmup + 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=30, help='timed steps per setting')
    ap.add_argument('--warmup', type=int, default=10, help='untimed steps first (compilation happens here)')
    ap.add_argument('--presets', nargs='+', default=['char_tiny', 'char'])
    ap.add_argument('--device', default='auto')
    args = ap.parse_args()
    cuda = args.device.startswith('cuda') or (args.device == 'auto' and torch.cuda.is_available())
    label = (torch.cuda.get_device_name() if cuda else f'CPU {platform.processor() or platform.machine()}')
    print(f'device: {label}, torch {torch.__version__}, {torch.get_num_threads()} threads')
    rows = []
    for preset in args.presets:
        eager = tokens_per_second(preset, False, args.steps, args.warmup, args.device)
        try: comp = tokens_per_second(preset, True, args.steps, args.warmup, args.device)
        except Exception as e:                      # no compiler toolchain: report and go on
            print(f'{preset}: torch.compile failed ({type(e).__name__}: {e})'); comp = float('nan')
        rows.append((preset, eager, comp))
    print(f"\n{'preset':<12}{'eager tok/s':>14}{'compiled tok/s':>16}{'compiled/eager':>16}")
    for preset, e, c in rows: print(f'{preset:<12}{e:>14.0f}{c:>16.0f}{c / e:>16.2f}')


if __name__ == '__main__':
    main()
