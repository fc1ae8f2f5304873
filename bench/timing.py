"""The benchmarks' one clock. Every script in bench/ times its work through these three functions, so that a GPU
figure is always measured with CUDA events after a synchronisation, and a CPU figure always says which clock it read.

- `ms_per_call(fn, n, cuda)`: the mean milliseconds of `n` back-to-back calls (CUDA events on a GPU, wall clock on the CPU);
- `seconds_of(fn, cuda)`: one synchronised call, timed by the wall clock on a GPU and by this process's CPU seconds on
  the CPU (other jobs on a shared machine do not inflate them);
- `best_of(fn, repeats, cuda)`: the fastest of `repeats` synchronised wall-clock calls, and the last result.
"""
import time

import torch


def sync(cuda: bool):
    "Wait for the GPU's queued work (nothing to wait for on the CPU)."
    if cuda: torch.cuda.synchronize()


def ms_per_call(fn, n: int, cuda: bool) -> float:
    "Mean milliseconds of one of `n` back-to-back calls of `fn`: CUDA events on a GPU, perf_counter on the CPU."
    sync(cuda)
    if cuda:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); [fn() for _ in range(n)]; b.record(); b.synchronize()
        return a.elapsed_time(b) / n
    t = time.perf_counter(); [fn() for _ in range(n)]
    return (time.perf_counter() - t) * 1e3 / n


def seconds_of(fn, cuda: bool):
    "(seconds, result) of one synchronised call: wall clock on a GPU, this process's CPU time on the CPU."
    now = time.perf_counter if cuda else time.process_time
    sync(cuda); t0 = now(); out = fn(); sync(cuda)
    return now() - t0, out


def best_of(fn, repeats: int, cuda: bool = False):
    "(fastest seconds, last result) of `repeats` synchronised wall-clock calls."
    times, out = [], None
    for _ in range(repeats):
        sync(cuda); t0 = time.perf_counter(); out = fn(); sync(cuda); times.append(time.perf_counter() - t0)
    return min(times), out
