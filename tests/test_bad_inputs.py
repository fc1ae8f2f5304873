"""Bad input, one case per row: each asserts the exception type and the words of its message (or the result).

The rows cover the config, the command line, the network, the graphs, the losses, the sampler, the ELBO, the data
pipeline and the checkpoints. Runs that need a trained model share one tiny run (4 steps) made once per session.
Kills, locks, a full disk and a read-only folder are in `test_faults.py`."""
import contextlib, io, json, math, shutil, subprocess, sys, warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from sedd_nb import data
from sedd_nb.cli import parse_overrides, run_cli
from sedd_nb.graphs import Absorbing, Uniform
from sedd_nb.likelihood import elbo
from sedd_nb.losses import dse_loss
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.noise import LogLinearNoise
from sedd_nb.sampling import sample
from sedd_nb.checkpoint import checkpoint_paths
from sedd_nb.train import TrainConfig, train, load_checkpoint

G, N = Absorbing(4), LogLinearNoise()
X0 = torch.tensor([[0, 1, 2, 3]])
ZERO_SCORE = lambda xt, s: torch.zeros(*xt.shape, 5)
MODEL = SEDDModel(ModelConfig.tiny(5)).eval()


# the cases below came from the third round of bad inputs (issue 23)
import contextlib, io, json, os, stat, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sedd_nb import data
from sedd_nb.cli import run_cli
from sedd_nb.eval import zero_shot_ppl
from sedd_nb.hub import export_run
from sedd_nb.sampling import sample
from sedd_nb.graphs import Absorbing
from sedd_nb.noise import LogLinearNoise
from sedd_nb.checkpoint import checkpoint_paths
from sedd_nb.train import TrainConfig, train, load_checkpoint
from conftest import TEXT, cli_err, listing, quiet, tiny


@pytest.fixture(scope='session')
def run(tmp_path_factory):
    "A finished 4-step char_tiny run (checkpoints at steps 2 and 4) and its cache folder."
    root = tmp_path_factory.mktemp('bad_inputs')
    cfg = tiny(root / 'run', 4)
    train(cfg)
    return root / 'run'


def tiny(out, steps, **kw):
    return TrainConfig.char_tiny(out_dir=str(out), steps=steps, ckpt_every=2, progress=False, sample_steps=2,
                                 n_samples=1, cache_dir=str(Path(out).parent / 'cache'), **kw)


def copy_run(run, tmp_path):
    dst = tmp_path / 'copy'
    shutil.copytree(run, dst)
    return dst


# ---- rows without a trained model: (id, callable, exception, words of the message)
def _cfg(**kw): return lambda: TrainConfig.char(**kw)

ROWS = [
    # TrainConfig
    ('steps float', _cfg(steps=4.0), ValueError, 'steps must be an int >= 1, got 4.0'),
    ('steps nan', _cfg(steps=float('nan')), ValueError, 'steps must be an int >= 1, got nan'),
    ('steps zero', _cfg(steps=0), ValueError, 'steps must be an int >= 1, got 0'),
    ('batch bool', _cfg(batch_size=True), ValueError, 'batch_size must be an int >= 1, got True'),
    ('lr negative', _cfg(lr=-1.0), ValueError, 'lr must be a number in [0, 10], got -1.0'),
    ('lr nan', _cfg(lr=float('nan')), ValueError, 'lr must be a number in [0, 10], got nan'),
    ('warmup past steps', _cfg(warmup=200, steps=100), ValueError, 'warmup=200 is longer than the run (steps=100)'),
    ('graph typo', _cfg(graph='absorbin'), ValueError, "Did you mean 'absorbing'?"),
    ('noise unknown', _cfg(noise='cosine'), ValueError, "noise='cosine' is not one of ('loglinear', 'geometric')"),
    ('model_kw list', _cfg(model_kw=[1, 2]), ValueError, 'model_kw must be a dict of ModelConfig overrides, got [1, 2]'),
    ('model_kw key', _cfg(model_kw={'n_layer': 2}), ValueError, "does not fit ModelConfig.char"),
    ('unknown key', lambda: TrainConfig.from_preset('char', stepz=5), ValueError, "Unknown TrainConfig key 'stepz'. Did you mean 'steps'?"),
    ('unknown preset', lambda: TrainConfig.from_preset('chars'), ValueError, "Unknown preset 'chars'"),
    ('seq_len past max_len', _cfg(seq_len=1000), ValueError, "seq_len=1000 exceeds the model's max_len=256"),
    ('batch not divisible', _cfg(batch_size=30, grad_accum=4), ValueError, 'batch_size=30 is not divisible by grad_accum=4'),
    ('fused loss with ar', _cfg(objective='ar', fused_loss=True), ValueError, "applies to the 'sedd' objective only"),
    ('device gpu', _cfg(device='gpu'), ValueError, "device='gpu'; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ('t_sampling unknown', _cfg(t_sampling='sobol'), ValueError, "t_sampling='sobol' is not one of"),
    ('block window on a plain model', _cfg(block_t_min=0.3), ValueError, 'this run has none, so leave them at 0 and 1'),
    ('block window empty', lambda: TrainConfig.char_blocks(block_t_min=0.6, block_t_max=0.6), ValueError, 'must be below block_t_max'),
    ('block window outside [0, 1]', lambda: TrainConfig.char_blocks(block_t_max=1.5), ValueError, 'block_t_max must be a number in [0, 1]'),
    ('val_frac zero', _cfg(val_frac=0.0), ValueError, 'val_frac must be > 0'),
    ('ema one', _cfg(ema=1.0), ValueError, 'must be < 1 (1 would never update)'),
    ('compile string', _cfg(compile='yes'), ValueError, "compile must be True or False, got 'yes'"),
    ('train not a config', lambda: train({'steps': 5}), TypeError, 'train expects a TrainConfig, got dict'),
    # command-line overrides
    ('override float for int', lambda: parse_overrides(['steps=4.5']), ValueError, "steps='4.5': expected a value of type int"),
    ('override dict unquoted', lambda: parse_overrides(['model_kw={n_layers:2}']), ValueError, 'for a dict quote the keys'),
    ('override dict list', lambda: parse_overrides(['model_kw=[1,2]']), ValueError, 'not a dict: [1, 2]'),
    ('override typo', lambda: parse_overrides(['stpes=5']), ValueError, "Did you mean 'steps'?"),
    ('override no equals', lambda: parse_overrides(['steps']), ValueError, "is not of the form key=value"),
    ('override bool', lambda: parse_overrides(['amp=maybe']), ValueError, "amp='maybe': expected true or false"),
    # the network
    ('sigma zero', lambda: MODEL(X0, torch.tensor([0.])), ValueError, 'sigma must be finite and > 0'),
    ('sigma negative', lambda: MODEL(X0, torch.tensor([-1.])), ValueError, 'got -1.0 at row 0'),
    ('sigma nan', lambda: MODEL(X0, torch.tensor([float('nan')])), ValueError, 'sigma must be finite and > 0'),
    ('sigma inf', lambda: MODEL(X0, torch.tensor([float('inf')])), ValueError, 'got inf at row 0'),
    ('sigma int', lambda: MODEL(X0, torch.tensor([1])), ValueError, 'sigma must be a floating-point tensor'),
    ('xt float', lambda: MODEL(X0.float(), torch.tensor([1.])), ValueError, 'xt must be an integer tensor'),
    ('xt out of range', lambda: MODEL(X0 + 5, torch.tensor([1.])), ValueError, 'Token ids must lie in [0, vocab_size=5)'),
    ('xt too long', lambda: MODEL(torch.zeros(1, 300, dtype=torch.long), torch.tensor([1.])), ValueError, 'exceeds cfg.max_len=256'),
    ('d_model float', lambda: ModelConfig.tiny(5, d_model=64.0), TypeError, 'ModelConfig.d_model must be an int'),
    ('output unknown', lambda: ModelConfig.tiny(5, output='softmax'), ValueError, "output must be one of ('scaled', 'subs')"),
    # graphs, loss, sampler, ELBO
    ('Absorbing float', lambda: Absorbing(2.7), TypeError, 'the number of data tokens V must be an integer, got 2.7'),
    ('Absorbing bool', lambda: Absorbing(True), TypeError, 'must be an integer, got True'),
    ('Uniform one', lambda: Uniform(1), ValueError, 'the vocabulary size V must be >= 2, got 1'),
    ('dse t zero', lambda: dse_loss(ZERO_SCORE, G, N, X0, t=0.0), ValueError, 't must lie in (0, 1], got 0.0'),
    ('dse t above one', lambda: dse_loss(ZERO_SCORE, G, N, X0, t=1.5), ValueError, 't must lie in (0, 1], got 1.5'),
    ('dse t nan', lambda: dse_loss(ZERO_SCORE, G, N, X0, t=float('nan')), ValueError, 't must lie in (0, 1], got nan'),
    ('dse int scores', lambda: dse_loss(lambda xt, s: torch.zeros(*xt.shape, 5, dtype=torch.long), G, N, X0), ValueError,
     'score_fn must return float log-scores'),
    ('dse mask id in x0', lambda: dse_loss(ZERO_SCORE, G, N, torch.tensor([[4, 0]])), ValueError, "the absorbing graph's mask token"),
    ('dse t_sampling', lambda: dse_loss(ZERO_SCORE, G, N, X0, t_sampling='halton'), ValueError, 't_sampling must be one of'),
    ('elbo n_t float', lambda: elbo(ZERO_SCORE, G, N, X0, n_t=2.5), TypeError, 'n_t (Gauss-Legendre nodes) must be an integer, got 2.5'),
    ('elbo mc zero', lambda: elbo(ZERO_SCORE, G, N, X0, mc=0), ValueError, 'mc (draws of x_t per node) must be >= 1'),
    ('sample steps float', lambda: sample(ZERO_SCORE, G, N, (1, 4), 4.0), TypeError, 'steps must be an integer, got 4.0'),
    ('sample int scores', lambda: sample(lambda xt, s: torch.zeros(*xt.shape, 5, dtype=torch.long), G, N, (1, 4), 2),
     TypeError, 'must return a float tensor of log-scores'),
    ('sample top_p zero', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, top_p=0.0), ValueError, 'top_p must be in (0, 1]'),
    ('sample temperature', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, temperature=0.0), ValueError, 'temperature must be a finite number > 0'),
    ('sample unmask', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, unmask='maskgit'), ValueError, "unmask='maskgit' is unknown"),
    ('sample unmask_noise nan', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, unmask='confidence', unmask_noise=float('nan')),
     ValueError, 'unmask_noise must be a finite number >= 0'),
    ('sample unmask_noise bool', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, unmask='confidence', unmask_noise=True),
     ValueError, 'unmask_noise must be a finite number >= 0'),
    ('sample unmask_noise alone', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, unmask_noise=4.5), ValueError,
     "it needs unmask='confidence'"),
    ('sample prompt mask id', lambda: sample(ZERO_SCORE, G, N, (1, 4), 2, prompt=torch.tensor([4, -1, -1, -1])),
     ValueError, 'the mask token cannot be prompted'),
    # data
    ('corpus missing file', lambda: data.load_texts('no/such/file.txt'), FileNotFoundError, 'No such file or folder'),
    ('corpus unknown name', lambda: data.load_texts('opnwebtext'), ValueError, "Unknown corpus 'opnwebtext'"),
    ('corpus empty', lambda: data.token_stream([''], data.CharTokenizer(['a']), cache_dir=False), ValueError, 'Empty corpus'),
    ('raw string corpus', lambda: data.token_stream('abc def', data.CharTokenizer(['a'])), ValueError, "Unknown corpus 'abc def'"),
    ('distinct n float', lambda: __import__('sedd_nb.eval', fromlist=['x']).distinct_n(['abc'], 2.0), TypeError, 'must be an integer'),
]


@pytest.mark.parametrize('row', ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_row(row):
    _, fn, exc, words = row
    with pytest.raises(exc) as e:
        fn()
    assert words in str(e.value), str(e.value)


# ---- data files
def test_jsonl_without_text_field_says_what_it_needs(tmp_path):
    f = tmp_path / 'docs.jsonl'; f.write_text('{"body": "hello"}\n')
    with pytest.raises(ValueError, match="records need a string 'text' field") as e:
        data.load_texts(f)
    assert "found ['body']" in str(e.value)


def test_char_tokenizer_file_without_chars(tmp_path):
    f = tmp_path / 'tok.json'; f.write_text(json.dumps({'format': 'sedd_nb.tokenizer', 'kind': 'char'}))
    with pytest.raises(ValueError, match="without its 'chars' string"):
        data.load_tokenizer(f)


def test_tokenizer_file_that_is_not_json(tmp_path):
    f = tmp_path / 'tok.json'; f.write_bytes(b'\x00\x01garbage')
    with pytest.raises(ValueError, match='is not a tokenizer JSON file'):
        data.load_tokenizer(f)


def test_corrupt_token_cache_is_rebuilt(tmp_path):
    docs, tok = ['hello world', 'second doc'], data.CharTokenizer.from_texts(['hello world', 'second doc'])
    fresh = np.asarray(data.token_stream(docs, tok, cache_dir=tmp_path)).copy()
    (binf,) = tmp_path.glob('*.bin')
    raw = bytearray(binf.read_bytes()); raw[0] ^= 1; binf.write_bytes(bytes(raw))     # same size, garbage id
    with pytest.warns(UserWarning, match='is not intact .*differ from the checksum'):
        again = np.asarray(data.token_stream(docs, tok, cache_dir=tmp_path))
    assert (again == fresh).all()
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                              # intact now: silent
        assert (np.asarray(data.token_stream(docs, tok, cache_dir=tmp_path)) == fresh).all()


def test_held_out_split_too_short_is_named(tmp_path):
    f = tmp_path / 'small.txt'; f.write_text('word ' * 400)                        # 2,000 characters, one document
    with pytest.raises(ValueError, match=r'The held-out split \(the last val_frac=0.01 of the stream\) has 20 tokens'):
        train(tiny(tmp_path / 'r', 2, corpus=str(f), val_frac=0.01))


def test_tokenizer_built_from_other_text_is_refused(tmp_path):
    data.CharTokenizer.from_texts(['abc']).save(tmp_path / 'abc.json')
    with pytest.raises(ValueError, match=r"9\d\.\d% maps to the tokenizer.s unknown token"):
        train(tiny(tmp_path / 'r', 2, tokenizer=str(tmp_path / 'abc.json')))


# ---- checkpoints
def test_tokenizer_vocab_mismatch(run, tmp_path):
    data.CharTokenizer(['a', 'b', 'c']).save(tmp_path / 't.json')
    with pytest.raises(ValueError, match=r'The tokenizer has 5 tokens but .* was trained on'):
        load_checkpoint(run, tokenizer=str(tmp_path / 't.json'))


def _rewrite(path, **change):
    st = torch.load(path, weights_only=True)
    for k, v in change.items():
        if v is None: st.pop(k)
        else: st[k] = v
    torch.save(st, path)


def test_tokenizer_path_outside_the_run_is_refused(run, tmp_path):
    r = copy_run(run, tmp_path)
    _rewrite(checkpoint_paths(r)[-1], tokenizer='../../etc/passwd')
    with pytest.raises(ValueError, match="names its tokenizer '../../etc/passwd'.*refusing to follow it"):
        load_checkpoint(r)


def test_checkpoint_without_ema_names_it(run, tmp_path):
    r = copy_run(run, tmp_path)
    _rewrite(checkpoint_paths(r)[-1], ema=None)
    with pytest.raises(ValueError, match='missing ema'):
        load_checkpoint(r)
    assert load_checkpoint(r, ema=False)['step'] == 4                    # the raw weights are still there


def test_checkpoint_config_with_unknown_key(run, tmp_path):
    r = copy_run(run, tmp_path)
    cfg = torch.load(checkpoint_paths(r)[-1], weights_only=True)['config']
    _rewrite(checkpoint_paths(r)[-1], config={**cfg, 'bogus': 1})
    with pytest.raises(ValueError, match='config fields this version of sedd_nb does not know: bogus'):
        load_checkpoint(r)


def test_random_bytes_checkpoint_never_advises_weights_only_false(run, tmp_path):
    r = copy_run(run, tmp_path)
    checkpoint_paths(r)[-1].write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError) as e:
        load_checkpoint(r)
    assert 'ckpt_0000004.pt: not a checkpoint file' in str(e.value) and 'weights_only' not in str(e.value), str(e.value)


def test_truncated_newest_checkpoint_falls_back_loudly(run, tmp_path):
    r = copy_run(run, tmp_path)
    newest = checkpoint_paths(r)[-1]
    newest.write_bytes(newest.read_bytes()[:1000])
    with pytest.warns(UserWarning, match='Resuming from ckpt_0000002.pt, the newest checkpoint that loads; skipped: ckpt_0000004.pt: truncated'):
        res = train(tiny(r, 6))
    assert res['step'] == 6
    steps = [json.loads(l)['step'] for l in (r / 'metrics.jsonl').read_text().splitlines()]
    assert steps == sorted(steps)                                        # history restarted from step 2, no duplicates


def test_empty_newest_checkpoint_is_named(run, tmp_path):
    r = copy_run(run, tmp_path)
    checkpoint_paths(r)[-1].write_bytes(b'')
    with pytest.warns(UserWarning, match=r'ckpt_0000004.pt: empty \(0 bytes\)'):
        assert train(tiny(r, 4))['step'] == 4


def test_fresh_run_refuses_a_folder_of_unreadable_checkpoints(run, tmp_path):
    r = copy_run(run, tmp_path)
    for p in checkpoint_paths(r): p.write_bytes(b'junk')
    with pytest.raises(ValueError, match='none can be read, so the run can neither resume nor start over them'):
        train(tiny(r, 6))
    assert [p.read_bytes() for p in checkpoint_paths(r)] == [b'junk', b'junk']   # nothing deleted


def test_resume_never_goes_back(run, tmp_path):
    r = copy_run(run, tmp_path)
    with pytest.raises(ValueError, match='it is at step 4, past steps=3, and a run never goes back'):
        train(tiny(r, 3))


def test_resume_with_another_batch_size_is_refused(run, tmp_path):
    r = copy_run(run, tmp_path)
    with pytest.raises(ValueError, match='batch_size: checkpoint 16 vs config 8'):
        train(tiny(r, 6, batch_size=8))


def test_resume_applies_a_new_lr_with_a_notice(run, tmp_path):
    r = copy_run(run, tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        res = train(tiny(r, 8, lr=2e-4, schedule='constant'))
    assert 'lr 0.001 -> 0.0002' in out.getvalue() and "schedule 'cosine' -> 'constant'" in out.getvalue(), out.getvalue()
    assert {h['lr'] for h in res['history'] if 'lr' in h and h['step'] > 4} == {2e-4}   # logged at steps 5 and 8


def test_finished_run_is_reported_complete_and_untouched(run, tmp_path):
    r = copy_run(run, tmp_path)
    before = (r / 'metrics.jsonl').read_text(), [p.stat().st_mtime_ns for p in checkpoint_paths(r)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        res = train(tiny(r, 4))
    assert res['complete'] and res['step'] == 4 and math.isfinite(res['val_bpt']) and 'already complete' in out.getvalue()
    assert ((r / 'metrics.jsonl').read_text(), [p.stat().st_mtime_ns for p in checkpoint_paths(r)]) == before


def test_killed_fresh_run_log_is_not_duplicated(tmp_path):
    r = tmp_path / 'r'; r.mkdir()
    (r / 'metrics.jsonl').write_text('{"step": 5, "loss_bits_tok": 9}\n' * 3)   # a run killed before its first checkpoint
    (r / '.sedd_nb_run').write_text('{}')                               # ... which the trainer marked as its own
    train(tiny(r, 4))
    steps = [json.loads(l)['step'] for l in (r / 'metrics.jsonl').read_text().splitlines()]
    assert steps == sorted(steps) and steps.count(5) <= 2                # step 5 of the dead run is gone


# ---- the command line: every expected error is one line and exit code 2
def cli(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        run_cli(list(argv))
    return e.value.code, err.getvalue()


@pytest.mark.parametrize('argv, words', [
    (['sample', '--ckpt', 'no/such/run', '--n', '1'], 'sedd_nb sample: error: Checkpoint no/such/run does not exist'),
    (['sample', '--ckpt', 'RUN', '--length', '0'], 'must be a positive integer, got 0'),
    (['sample', '--ckpt', 'RUN', '--temperature', '0', '--steps', '2', '--n', '1'], 'sedd_nb sample: error: temperature must be a finite number > 0'),
    (['sample', '--ckpt', 'RUN', '--prompt', 'caf\u00e9 \u2603', '--steps', '2', '--n', '1'], 'does not know'),
    (['sample', '--ckpt', 'RUN', '--unmask', 'maskgit'], "invalid choice: 'maskgit'"),
    (['sample', '--ckpt', 'RUN', '--unmask-noise', '2', '--steps', '2', '--n', '1'], "sedd_nb sample: error: unmask_noise=2.0 perturbs"),
    (['train', '--preset', 'chars'], "invalid choice: 'chars'"),
    (['train', 'stpes=5'], "sedd_nb train: error: Unknown TrainConfig key 'stpes'. Did you mean 'steps'?"),
    (['train', '--preset', 'char_tiny', 'out_dir=RUN', 'steps=3'], 'a run never goes back'),
], ids=['missing ckpt', 'length 0', 'temperature 0', 'prompt chars', 'unmask choice', 'unmask_noise alone', 'preset typo', 'key typo', 'steps back'])
def test_cli_errors(run, argv, words):
    code, err = cli(*[a.replace('RUN', str(run)) for a in argv])
    assert code == 2 and words in err, err
    assert 'Traceback' not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA, so device=cuda is valid here')
def test_cli_device_cuda_without_cuda(run):
    code, err = cli('sample', '--ckpt', str(run), '--device', 'cuda', '--steps', '2', '--n', '1')
    assert code == 2 and "device='cuda:0' but CUDA is not available" in err, err


def test_eval_refuses_text_the_model_cannot_read(corpus_run, tmp_path):
    r, _ = corpus_run
    (tmp_path / 'greek.txt').write_text('\u03b1\u03b2\u03b3\u03b4 ' * 300)
    code, err = cli_err('eval', '--ckpt', r, '--dataset', tmp_path / 'greek.txt', '--n-t', 2, '--mc', 1)
    assert code == 2 and "maps to the tokenizer's unknown token" in err, err
    ok = quiet(zero_shot_ppl, load_checkpoint(r), [TEXT[:500]], n_t=2, mc=1, progress=False)
    assert ok['n_tokens'] > 0


def test_a_duplicated_override_is_refused():
    code, err = cli_err('train', '--preset', 'char_tiny', 'steps=5', 'steps=7')
    assert code == 2 and 'steps is given twice' in err, err


def test_a_causal_sedd_model_is_refused():
    with pytest.raises(ValueError, match='model_kw sets causal, which the run decides'):
        TrainConfig.char_tiny(model_kw={'causal': True})


@pytest.mark.parametrize('argv, words', [
    (['train', '--preset', 'char_tiny', f'seed={2**64}'], 'seed=18446744073709551616 is too large'),
    (['train', '--preset', 'char_tiny', f'steps={2**64}'], 'steps=18446744073709551616 is too large'),
    (['sample', '--ckpt', 'x', '--steps', str(2**64)], 'must be at most 10**9, got 18446744073709551616'),
    (['sample', '--ckpt', 'x', '--seed', str(2**64)], 'must be an integer in [0, 2**63)'),
    (['train', '--preset', 'char_tiny', 'steps=1e3'], 'write integers in digits, e.g. steps=1000'),
], ids=['seed 2**64', 'steps 2**64', 'sample steps 2**64', 'sample seed 2**64', 'steps 1e3'])
def test_one_line_messages(argv, words, tmp_path):
    code, err = cli_err(*argv, *([f'out_dir={tmp_path}/r'] if argv[0] == 'train' else []))
    assert code == 2 and words in err and 'Traceback' not in err, err
    assert not (tmp_path / 'r').exists()


def test_numpy_numbers_are_accepted():
    cfg = TrainConfig.char_tiny(steps=np.int64(6), seed=np.int32(1), lr=np.float64(2e-3))
    assert (type(cfg.steps), type(cfg.seed), type(cfg.lr)) == (int, int, float)
    assert TrainConfig(**json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize('kw, exc, words', [
    (dict(generator=0), TypeError, 'generator must be a torch.Generator or None, got int'),
    (dict(top_p='0.9'), ValueError, "top_p must be in (0, 1]; got '0.9' (a string: pass a number)"),
])
def test_sample_argument_types(kw, exc, words):
    with pytest.raises(exc) as e:
        sample(lambda xt, s: torch.zeros(*xt.shape, 5), Absorbing(4), LogLinearNoise(), (1, 4), 2, **kw)
    assert words in str(e.value), str(e.value)


@pytest.mark.parametrize('fn, words', [
    (lambda: load_checkpoint(None), 'load_checkpoint takes a path or a Hub id'),
    (lambda: load_checkpoint(123), 'load_checkpoint takes a path or a Hub id'),
    (lambda: export_run('runs/x', None), 'export_run takes a folder path'),
])
def test_loader_arguments_of_the_wrong_type(fn, words):
    with pytest.raises(TypeError, match=words): fn()


def test_paths_are_accepted_in_the_config(tmp_path):
    assert TrainConfig.char_tiny(out_dir=tmp_path / 'r').out_dir == str(tmp_path / 'r')



def test_a_mistyped_command_names_the_nearest():
    code, err = cli('trian', '--preset', 'char')
    assert code == 2 and "unknown command 'trian'; did you mean 'train'?" in err, err
