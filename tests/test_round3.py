"""Round 3 of bad inputs and faults (issue 23): each case as a user meets it, with `char_tiny` in seconds.

Lost data (exports over runs, resumes on a changed corpus, folders named like checkpoints), the resume crash on a
new vocabulary, silent wrong results (`ema=0` runs, evaluation of text the model cannot read, machine paths in
exports) and one-line messages for the unclear cases. Every test here fails on the code before issue 23."""
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
from sedd_nb.train import TrainConfig, train, load_checkpoint, checkpoint_paths

TEXT = ''.join(data.load_texts('pydoc')[:40])          # about 60,000 characters, 'h' among them


def tiny(out, corpus, steps=2, **kw):
    return TrainConfig.char_tiny(out_dir=str(out), corpus=str(corpus), steps=steps, ckpt_every=2, progress=False,
                                 sample_steps=2, n_samples=1, cache_dir=str(Path(out).parent / 'cache'), **kw)


def quiet(fn, *a, **kw):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*a, **kw)


@pytest.fixture
def run(tmp_path):
    corpus = tmp_path / 'corpus.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'runs' / 'a', corpus))
    return tmp_path / 'runs' / 'a', corpus


def cli(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        run_cli([str(a) for a in argv])
    return e.value.code, err.getvalue()


def listing(d): return sorted(str(p.relative_to(d)) for p in Path(d).rglob('*'))


# ---- lost data
@pytest.mark.parametrize('where', ['run', 'inside', 'parent', 'grandparent'])
def test_export_never_writes_over_a_run(run, where):
    r, _ = run
    out = {'run': r, 'inside': r / 'hub', 'parent': r.parent, 'grandparent': r.parent.parent}[where]
    before = listing(r.parent.parent)
    code, err = cli('export', '--ckpt', r, '--out', out, '--overwrite')
    assert code == 2 and 'run directory' in err and 'Traceback' not in err, err
    assert listing(r.parent.parent) == before                       # nothing deleted, nothing added


def test_export_overwrite_replaces_only_a_previous_export(run, tmp_path):
    r, _ = run
    (tmp_path / 'notes').mkdir(); (tmp_path / 'notes' / 'keep.txt').write_text('mine')
    code, err = cli('export', '--ckpt', r, '--out', tmp_path / 'notes', '--overwrite')
    assert code == 2 and 'replaces only a previous export' in err, err
    assert (tmp_path / 'notes' / 'keep.txt').read_text() == 'mine'
    quiet(export_run, r, tmp_path / 'pub'); quiet(export_run, r, tmp_path / 'pub', overwrite=True)


def test_refused_resume_on_a_changed_corpus_leaves_the_tokenizer(run):
    r, corpus = run
    tok_before = (r / 'tokenizer.json').read_bytes()
    corpus.write_text(TEXT + ' \u2603 new characters \u00e9\u00e8')        # another vocabulary size
    with pytest.raises(ValueError, match='no longer gives the data the run was trained on') as e:
        quiet(train, tiny(r, corpus, steps=4))
    assert 'Restore the corpus' in str(e.value) and 'NameError' not in str(e.value)
    assert (r / 'tokenizer.json').read_bytes() == tok_before


def test_resume_on_a_corpus_with_other_characters_of_the_same_count_is_refused(run):
    r, corpus = run
    assert 'z' in TEXT and 'h' in TEXT
    corpus.write_text(TEXT.replace('h', '\u00fe'))          # every h becomes another character: same sizes, other ids
    tok_before = (r / 'tokenizer.json').read_bytes()
    with pytest.raises(ValueError, match=r'the tokenizer, the tokens changed'):
        quiet(train, tiny(r, corpus, steps=4))
    assert (r / 'tokenizer.json').read_bytes() == tok_before


def test_the_advice_of_the_refusal_works(run):
    r, corpus = run
    good = corpus.read_text()
    corpus.write_text(good + 'x')
    with pytest.raises(ValueError): quiet(train, tiny(r, corpus, steps=4))
    corpus.write_text(good)                                            # restore the corpus, as advised
    assert quiet(train, tiny(r, corpus, steps=4))['step'] == 4
    corpus.write_text(good + 'x')                                      # or a new out_dir, as advised
    assert quiet(train, tiny(r.parent / 'b', corpus, steps=2))['step'] == 2


def test_a_folder_named_like_a_checkpoint_is_not_one(run):
    r, corpus = run
    (r / 'ckpt_0000015.pt').mkdir()
    with pytest.warns(UserWarning, match='ckpt_0000015.pt; they are left alone'):
        res = quiet(train, tiny(r, corpus, steps=6))
    assert res['step'] == 6 and (r / 'ckpt_0000015.pt').is_dir()
    assert [p.name for p in checkpoint_paths(r)] == ['ckpt_0000004.pt', 'ckpt_0000006.pt']


# ---- silent wrong results
def test_ema_0_run_loads_its_trained_weights(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'r', corpus, steps=4, ema=0.))
    ck = torch.load(checkpoint_paths(tmp_path / 'r')[-1], weights_only=True)
    for k, v in ck['model'].items(): assert torch.equal(ck['ema'][k], v)     # saved: the EMA is the trained weights
    a, b = load_checkpoint(tmp_path / 'r'), load_checkpoint(tmp_path / 'r', ema=False)
    for k, v in a['model'].state_dict().items(): assert torch.equal(v, b['model'].state_dict()[k])


def test_ema_0_checkpoint_of_an_older_version_loads_the_raw_weights(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'r', corpus, steps=2, ema=0.))
    p = checkpoint_paths(tmp_path / 'r')[-1]
    st = torch.load(p, weights_only=True)
    st['ema'] = {k: torch.zeros_like(v) for k, v in st['ema'].items()}     # as before: an EMA never updated
    torch.save(st, p)
    w = load_checkpoint(tmp_path / 'r')['model'].state_dict()['tok_emb.weight']
    assert torch.equal(w, st['model']['tok_emb.weight'])


def test_eval_refuses_text_the_model_cannot_read(run, tmp_path):
    r, _ = run
    (tmp_path / 'greek.txt').write_text('\u03b1\u03b2\u03b3\u03b4 ' * 300)
    code, err = cli('eval', '--ckpt', r, '--dataset', tmp_path / 'greek.txt', '--n-t', 2, '--mc', 1)
    assert code == 2 and "maps to the tokenizer's unknown token" in err, err
    ok = quiet(zero_shot_ppl, load_checkpoint(r), [TEXT[:500]], n_t=2, mc=1, progress=False)
    assert ok['n_tokens'] > 0


def test_export_carries_no_machine_path_and_normal_modes(run, tmp_path):
    r, _ = run
    out = quiet(export_run, r, tmp_path / 'pub')
    text = (out / 'config.json').read_text() + (out / 'README.md').read_text()
    assert str(tmp_path) not in text and '/tmp' not in text, text
    umask = os.umask(0); os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o666 & ~umask}
    assert load_checkpoint(out)['cfg'].out_dir == 'a'


def test_sample_help_says_what_the_seed_fixes():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit): run_cli(['sample', '--help'])
    assert 'the same seed with another --n gives other samples' in ' '.join(buf.getvalue().split())


# ---- smaller: a failed start, duplicated keys, a causal SEDD model
def test_a_failed_start_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        quiet(train, tiny(tmp_path / 'new' / 'run', tmp_path / 'no_such_corpus.txt'))
    assert not (tmp_path / 'new').exists()


def test_a_duplicated_override_is_refused():
    code, err = cli('train', '--preset', 'char_tiny', 'steps=5', 'steps=7')
    assert code == 2 and 'steps is given twice' in err, err


def test_a_causal_sedd_model_is_refused():
    with pytest.raises(ValueError, match='model_kw sets causal, which the run decides'):
        TrainConfig.char_tiny(model_kw={'causal': True})


# ---- unclear messages, now one line each
@pytest.mark.parametrize('argv, words', [
    (['train', '--preset', 'char_tiny', f'seed={2**64}'], 'seed=18446744073709551616 is too large'),
    (['train', '--preset', 'char_tiny', f'steps={2**64}'], 'steps=18446744073709551616 is too large'),
    (['sample', '--ckpt', 'x', '--steps', str(2**64)], 'must be at most 10**9, got 18446744073709551616'),
    (['sample', '--ckpt', 'x', '--seed', str(2**64)], 'must be an integer in [0, 2**63)'),
    (['train', '--preset', 'char_tiny', 'steps=1e3'], 'write integers in digits, e.g. steps=1000'),
], ids=['seed 2**64', 'steps 2**64', 'sample steps 2**64', 'sample seed 2**64', 'steps 1e3'])
def test_one_line_messages(argv, words, tmp_path):
    code, err = cli(*argv, *([f'out_dir={tmp_path}/r'] if argv[0] == 'train' else []))
    assert code == 2 and words in err and 'Traceback' not in err, err
    assert not (tmp_path / 'r').exists()


def test_hand_edited_checkpoint_config_is_one_line(run):
    r, _ = run
    p = checkpoint_paths(r)[-1]
    st = torch.load(p, weights_only=True); st['config']['model_kw'] = {'d_model': 32}; torch.save(st, p)
    code, err = cli('sample', '--ckpt', r, '--steps', 2, '--n', 1)
    assert code == 2 and 'its weights do not fit the network its config describes' in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_partial_last_metrics_line_does_not_block_export(run, tmp_path):
    r, _ = run
    with open(r / 'metrics.jsonl', 'a') as f: f.write('{"step": 3, "loss_bi')
    out = quiet(export_run, r, tmp_path / 'pub')
    assert (out / 'README.md').exists()


def test_newer_train_config_key_in_a_hub_export_is_named(run, tmp_path):
    r, _ = run
    out = quiet(export_run, r, tmp_path / 'pub')
    cfg = json.loads((out / 'config.json').read_text()); cfg['sedd_nb']['train_config']['block_size'] = 4
    (out / 'config.json').write_text(json.dumps(cfg))
    code, err = cli('sample', '--ckpt', out, '--steps', 2, '--n', 1)
    assert code == 2 and 'does not know: block_size' in err and 'Upgrade sedd_nb' in err, err


def test_lock_with_a_pid_that_is_not_a_number(run):
    r, corpus = run
    (r / '.lock').write_text('{"pid": "twelve", "host": "x"}')
    with pytest.raises(RuntimeError, match="is not a lock sedd_nb wrote.*delete"):
        quiet(train, tiny(r, corpus, steps=4))


@pytest.mark.parametrize('field', ['out_dir', 'cache_dir'])
def test_a_file_where_a_folder_belongs(tmp_path, field):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    (tmp_path / 'afile').write_text('x')
    cfg = tiny(tmp_path / 'r', corpus)
    setattr(cfg, field, str(tmp_path / 'afile'))
    with pytest.raises(ValueError, match=f"{field}=.* is a file, not a directory"):
        quiet(train, cfg)


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


# ---- from the sweep of 55 new cases: checkpoint hand-edits and API misuse that were unclear or silent
def _edit(r, **change):
    p = checkpoint_paths(r)[-1]; st = torch.load(p, weights_only=True); st.update(change); torch.save(st, p)


@pytest.mark.parametrize('change, words', [
    (dict(step=-1), "its 'step' is -1, not a non-negative int"),
    (dict(step='2'), "its 'step' is '2', not a non-negative int"),
    (dict(history=5), "its 'history' is 5, not a list"),
    (dict(rng={'torch': 1}), 'cannot be restored (TypeError'),
    (dict(optimizer={}), "cannot be restored (KeyError: 'param_groups')"),
], ids=['step negative', 'step string', 'history int', 'rng garbage', 'optimizer empty'])
def test_hand_edited_checkpoint_is_named_on_resume(run, change, words):
    r, corpus = run
    _edit(r, **change)
    with pytest.raises(ValueError) as e: quiet(train, tiny(r, corpus, steps=4))
    assert words in str(e.value), str(e.value)


def test_nan_weights_are_named_when_loading(run):
    r, _ = run
    p = checkpoint_paths(r)[-1]; st = torch.load(p, weights_only=True)
    st['ema'] = {k: v * float('nan') if v.is_floating_point() else v for k, v in st['ema'].items()}; torch.save(st, p)
    code, err = cli('sample', '--ckpt', r, '--steps', 2, '--n', 1)
    assert code == 2 and 'its weights hold NaN or inf' in err, err
    load_checkpoint(r, ema=False)                                       # the raw weights still load


@pytest.mark.parametrize('fn, words', [
    (lambda: load_checkpoint(None), 'load_checkpoint takes a path or a Hub id'),
    (lambda: load_checkpoint(123), 'load_checkpoint takes a path or a Hub id'),
    (lambda: export_run('runs/x', None), 'export_run takes a folder path'),
])
def test_loader_arguments_of_the_wrong_type(fn, words):
    with pytest.raises(TypeError, match=words): fn()


def test_paths_are_accepted_in_the_config(tmp_path):
    assert TrainConfig.char_tiny(out_dir=tmp_path / 'r').out_dir == str(tmp_path / 'r')


# ---- sampling (issue 20): text longer than the model, the first-hitting sampler from the command line
def test_cli_writes_text_longer_than_the_training_length_with_a_prompt(run):
    r, _ = run                                                             # trained on blocks of 32 characters
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run_cli(['sample', '--ckpt', str(r), '--length', '150', '--steps', '4', '--n', '2', '--prompt', 'The ',
                 '--predictor', 'first_hitting'])
    texts = [t.strip('\n') for t in out.getvalue().split('---')[1:]]
    assert len(texts) == 2 and all(t.startswith('The ') for t in texts), texts
    eos = data.EOS_TOKEN                                                   # one token, several characters
    assert all(len(t) - t.count(eos) * (len(eos) - 1) == 150 for t in texts), [len(t) for t in texts]


def test_first_hitting_on_a_uniform_run_is_refused(tmp_path):
    corpus = tmp_path / 'c.txt'; corpus.write_text(TEXT)
    quiet(train, tiny(tmp_path / 'u', corpus, steps=2, graph='uniform'))
    code, err = cli('sample', '--ckpt', tmp_path / 'u', '--predictor', 'first_hitting', '--steps', 2, '--n', 1)
    assert code == 2 and 'first hitting simulates the absorbing process' in err, err
    code, err = cli('sample', '--ckpt', tmp_path / 'u', '--length', 100, '--steps', 2, '--n', 1)
    assert code == 2 and 'prompting is exact only on the absorbing graph' in err, err


@pytest.mark.parametrize('predictor', ['analytic', 'first_hitting'])
def test_per_sample_seed_gives_the_same_samples_whatever_n(run, predictor):
    from sedd_nb.generate import sample_texts
    r, _ = run
    b = load_checkpoint(r)
    args = (b['model'], b['graph'], b['noise'], b['tokenizer'])
    one = sample_texts(*args, 1, 32, 4, seed=5, predictor=predictor, per_sample_seed=True)
    five = sample_texts(*args, 5, 32, 4, seed=5, predictor=predictor, per_sample_seed=True)
    assert one[0] == five[0] and len(set(five)) > 1                      # the same first sample; the others differ
    assert sample_texts(*args, 5, 32, 4, seed=6, predictor=predictor, per_sample_seed=True)[0] != five[0]
