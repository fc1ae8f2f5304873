"""What several test files need: tiny finished runs (a plain SEDD run and a block diffusion run, each trained once per
session in a few seconds), the command line run in-process, and a folder's listing with digests."""
import contextlib, hashlib, io
from pathlib import Path

import pytest
import torch

from sedd_nb.cli import run_cli
from sedd_nb.config import TrainConfig
from sedd_nb.corpora import load_texts
from sedd_nb.train import train

BLOCKS = dict(block_size=4, output='subs', sigma_cond=False)      # the block model of issue 30's cases


def tiny_config(out, steps=4, **kw):
    "`char_tiny` for `steps` steps, checkpoints every 2, quiet, its token cache beside the run."
    return TrainConfig.char_tiny(out_dir=str(out), steps=steps, ckpt_every=2, progress=False, sample_steps=2,
                                 n_samples=1, cache_dir=str(Path(out).parent / 'cache'), **kw)


def quiet(fn, *a, **kw):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*a, **kw)


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory):
    "A finished 4-step char_tiny run (plain SEDD, seq_len 32)."
    d = tmp_path_factory.mktemp('tiny_run') / 'run'
    quiet(train, tiny_config(d))
    return d


@pytest.fixture(scope='session')
def block_run(tmp_path_factory):
    "A finished 4-step char_tiny run of a block diffusion model (blocks of 4)."
    d = tmp_path_factory.mktemp('block_run') / 'run'
    quiet(train, tiny_config(d, model_kw=dict(BLOCKS)))
    return d


def cli(*argv) -> tuple[int, str, str]:
    "(exit code, stdout, stderr) of `sedd_nb *argv`, run in this process."
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: run_cli([str(a) for a in argv])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()


def snapshot(folder) -> dict:
    "Every path under `folder` with the SHA-256 of its bytes (None for folders): equal before and after = nothing touched."
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in sorted(folder.rglob('*'))}


# A run on a local copy of part of the embedded corpus (about 60,000 characters), for the cases that edit the corpus.
TEXT = ''.join(load_texts('pydoc')[:40])


def tiny(out, corpus, steps=2, **kw):
    "`char_tiny` on the text file `corpus` for `steps` steps, quiet, its token cache beside the run."
    return TrainConfig.char_tiny(out_dir=str(out), corpus=str(corpus), steps=steps, ckpt_every=2, progress=False,
                                 sample_steps=2, n_samples=1, cache_dir=str(Path(out).parent / 'cache'), **kw)


@pytest.fixture
def corpus_run(tmp_path):
    "(run directory, corpus file) of a 2-step run on a copy of `TEXT`; its own for each test, which may edit it."
    corpus = tmp_path / 'corpus.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'runs' / 'a', corpus))
    return tmp_path / 'runs' / 'a', corpus


def cli_err(*argv) -> tuple[int, str]:
    "(exit code, stderr) of `sedd_nb *argv`, which must exit."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        run_cli([str(a) for a in argv])
    return e.value.code, err.getvalue()


def listing(d): return sorted(str(p.relative_to(d)) for p in Path(d).rglob('*'))



# Every tensor-to-host conversion: on a GPU each makes the host wait for the device. The sync tests count them on the
# CPU, with `on_host` patched (in the given modules) to say "not on the host", so that value checks take their GPU path.
HOST_READS = ('__bool__', '__int__', '__float__', '__index__', 'item', 'tolist', 'numpy', 'cpu')


@contextlib.contextmanager
def counting_reads(monkeypatch, modules, reads=HOST_READS):
    "Within the block: the names of the host reads called, in order (callers may append their own marks)."
    calls = []
    with monkeypatch.context() as m:
        for name in reads:
            def wrapped(self, *a, _orig=getattr(torch.Tensor, name), _name=name, **k):
                calls.append(_name)
                return _orig(self, *a, **k)
            m.setattr(torch.Tensor, name, wrapped)
        for mod in modules: m.setattr(mod, 'on_host', lambda t: False)
        yield calls
