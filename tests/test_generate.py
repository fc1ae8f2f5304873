"""The generation dispatcher (`sedd_nb.generate`): the same seeds give the same texts as the trainer's old
`sample_texts` did (recorded at commit 6f3d206 in tests/data/generate_regression.json), for every kind of model
and option it dispatches: plain SEDD (trunk reuse), SEDD windows, prompts and filters, per-sample seeds, block
models with a context window, and the AR baseline.

    python tests/test_generate.py --write    # re-record (only when the draws are meant to change)
"""
import json, sys
from pathlib import Path

import pytest
import torch

from sedd_nb.data import CharTokenizer
from sedd_nb.graphs import Absorbing
from sedd_nb.blocks import build_network
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.noise import LogLinearNoise

RECORD = Path(__file__).parent / 'data' / 'generate_regression.json'
TOK = CharTokenizer('abcdefgh')                      # 8 characters + eos + unk: V = 10 data tokens


def tiny_model(seed, **kw):
    "A 2-layer model of the tiny shape with every weight drawn (adaLN-Zero's zeros would make all scores equal)."
    torch.manual_seed(seed)
    m = build_network(ModelConfig.tiny(TOK.vocab_size + (0 if kw.get('causal') else 1), max_len=16, **kw))
    with torch.no_grad():
        for p in m.parameters(): p.copy_(torch.randn_like(p) * 0.1)
    return m.eval()


def cases():
    "name -> (model, sample_texts positional args after the model's graph/noise/tokenizer, keyword args)."
    sedd, reuse = tiny_model(0), tiny_model(1, sigma_cond=False, output='subs')
    blk = tiny_model(2, block_size=4, output='subs', sigma_cond=False)
    ar = tiny_model(3, causal=True)
    prompt = torch.full((3, 16), -1); prompt[:, :3] = torch.tensor([0, 1, 2]); prompt[:, -2:] = 5
    ar_prompt = torch.full((3, 12), -1); ar_prompt[:, :2] = torch.tensor([3, 4])
    return {
        'sedd_analytic': (sedd, (3, 16, 4), dict(seed=1)),
        'sedd_reuse_euler': (reuse, (3, 16, 6), dict(seed=2, predictor='euler')),
        'sedd_windows_first_hitting': (sedd, (2, 28, 4), dict(seed=3, predictor='first_hitting')),
        'sedd_window_arg': (reuse, (2, 20, 3), dict(seed=4, window=12)),
        'sedd_prompt_top_p': (sedd, (3, 16, 5), dict(seed=5, prompt=prompt, top_p=0.9, temperature=0.8)),
        'sedd_per_sample_seed': (reuse, (3, 16, 4), dict(seed=6, per_sample_seed=True, predictor='first_hitting')),
        'sedd_unmask_confident': (sedd, (2, 16, 4), dict(seed=7, unmask='confidence', unmask_noise=0.5)),
        'block_first_hitting': (blk, (3, 22, 2), dict(seed=8, predictor='first_hitting')),
        'block_window': (blk, (2, 30, 3), dict(seed=9, window=12)),
        'block_per_sample_seed': (blk, (3, 12, 4), dict(seed=10, per_sample_seed=True)),
        'ar': (ar, (3, 12, 0), dict(objective='ar', seed=11)),
        'ar_prompt': (ar, (3, 12, 0), dict(objective='ar', seed=12, prompt=ar_prompt)),
        'ar_per_sample_seed': (ar, (3, 12, 0), dict(objective='ar', seed=13, per_sample_seed=True)),
    }


def outputs(sample_texts) -> dict:
    torch.set_num_threads(1)                         # tiny matmuls: threads only cost time here
    graph, noise = Absorbing(TOK.vocab_size), LogLinearNoise()
    return {name: sample_texts(m, graph, noise, TOK, *args, **kw) for name, (m, args, kw) in cases().items()}


def test_the_dispatcher_draws_what_the_trainer_drew():
    from sedd_nb.generate import sample_texts
    want, got = json.loads(RECORD.read_text()), outputs(sample_texts)
    assert got.keys() == want.keys()
    for name in want: assert got[name] == want[name], (name, got[name], want[name])



def test_kv_cache_decode_draws_what_ar_generate_draws():
    "The AR baseline on its static cache: the tokens of `ar_generate` (float64, so no draw sits on a rounding edge)."
    from sedd_nb.generate import ar_decode
    from sedd_nb.generate import ar_generate
    m = tiny_model(3, causal=True).double()
    for prefix in ([], [1, 2], list(range(8))):
        want = ar_generate(m, 3, 16, TOK.eos_id, prefix=prefix, generator=torch.Generator().manual_seed(1))
        got = ar_decode(m, 3, 16, TOK.eos_id, prefix=prefix, generator=torch.Generator().manual_seed(1))
        assert torch.equal(got, want), (prefix, got, want)


def test_static_block_cache_draws_what_block_cache_draws_graphs_on_or_off():
    "Block decoding on static shapes: the tokens of chapter 15's cache; graphs on = off (eager on the CPU)."
    from sedd_nb.blocks import sample_blocks
    from sedd_nb.generate import static_blocks
    m, graph, noise = tiny_model(2, block_size=4, output='subs', sigma_cond=False).double(), Absorbing(TOK.vocab_size), LogLinearNoise()
    for kw in [dict(steps=2, predictor='first_hitting'), dict(steps=3, context=8), dict(predictor='first_hitting')]:
        want = sample_blocks(m, graph, noise, 2, 26, generator=torch.Generator().manual_seed(2), **kw)
        on, off = (static_blocks(m, graph, noise, 2, 26, generator=torch.Generator().manual_seed(2), graphs=g, **kw)
                   for g in (True, False))
        assert torch.equal(on, off) and torch.equal(on, want), kw


def test_a_reused_static_cache_draws_as_a_fresh_one():
    from sedd_nb.generate import StaticBlockCache, StaticKV, ar_decode, static_blocks
    blk, ar = tiny_model(2, block_size=4, output='subs', sigma_cond=False), tiny_model(3, causal=True)
    graph, noise, g = Absorbing(TOK.vocab_size), LogLinearNoise(), lambda: torch.Generator().manual_seed(3)
    cache, kv = StaticBlockCache(blk), StaticKV(ar)
    fresh = static_blocks(blk, graph, noise, 2, 20, generator=g()), ar_decode(ar, 2, 12, TOK.eos_id, generator=g())
    static_blocks(blk, graph, noise, 3, 9, cache=cache, generator=g()); ar_decode(ar, 3, 5, TOK.eos_id, generator=g(), cache=kv)
    again = (static_blocks(blk, graph, noise, 2, 20, cache=cache, generator=g()),
             ar_decode(ar, 2, 12, TOK.eos_id, generator=g(), cache=kv))
    assert all(torch.equal(a, b) for a, b in zip(fresh, again))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device; on the CPU the graphed path "
                    "is the eager one, checked above")
@pytest.mark.parametrize('kind', ['block', 'ar', 'sedd'])
def test_cuda_graphs_give_the_eager_tokens_bit_for_bit(kind):
    from sedd_nb.generate import generate
    m = {'block': lambda: tiny_model(2, block_size=4, output='subs', sigma_cond=False), 'ar': lambda: tiny_model(3, causal=True),
         'sedd': lambda: tiny_model(1, sigma_cond=False, output='subs')}[kind]().cuda()
    graph, noise, obj = Absorbing(TOK.vocab_size), LogLinearNoise(), 'ar' if kind == 'ar' else 'sedd'
    for amp in (False, True):
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=amp):
            a, b = (generate(m, graph, noise, 4, 16 if kind == 'ar' else 28, 4, obj, seed=5, bos_id=TOK.eos_id,
                             device='cuda', decode=d) for d in ('static', 'graphs'))
        assert torch.equal(a, b), (kind, amp)



def _block_start(x, call, final, mask):
    "Where the block a network call read sits in the watched sequence `x`: finished blocks before it, masks after."
    w = call.shape[1]
    for lo in range(0, x.shape[1] - w + 1, w):
        if torch.equal(x[:, lo:lo + w], call) and torch.equal(x[:, :lo], final[:, :lo]) and (x[:, lo + w:] == mask).all():
            return lo


@pytest.mark.parametrize('kind, kw', [('sedd', {}), ('sedd', dict(predictor='first_hitting')), ('sedd', dict(window=12)),
                                      ('block', {}), ('block', dict(predictor='first_hitting', window=8))])
def test_watch_sees_the_calls_the_sampler_makes(kind, kw):
    "draw_ids(watch=f): f sees one sequence per network call, holding the tokens that call read, and no draw changes."
    from sedd_nb.generate import generate
    graph, noise = Absorbing(TOK.vocab_size), LogLinearNoise()
    m = tiny_model(0) if kind == 'sedd' else tiny_model(2, block_size=4, output='subs', sigma_cond=False)
    calls, seen, output = [], [], m.output
    def spy(h, xt, sigma):                            # every network call ends in model.output(h, xt, sigma)
        calls.append(xt.clone())
        return output(h, xt, sigma)
    m.output = spy
    try: got = generate(m, graph, noise, 2, 16, 3, seed=1, watch=seen.append, **kw)
    finally: del m.output
    assert torch.equal(got, generate(m, graph, noise, 2, 16, 3, seed=1, **kw))
    assert len(seen) == len(calls) > 0
    if kind == 'sedd':                                # the tokens of the call itself (a window's, past `window`)
        assert all(torch.equal(x, c) for x, c in zip(seen, calls))
    else:                                             # the whole sequence, the call's block in its place
        starts = [_block_start(x, c, got, graph.mask) for x, c in zip(seen, calls)]
        assert None not in starts and starts == sorted(starts) and set(starts) == {0, 4, 8, 12}, starts


def _bad_inputs():
    from sedd_nb.generate import StaticBlockCache, ar_decode, generate, static_blocks
    blk, ar = tiny_model(2, block_size=4, output='subs', sigma_cond=False), tiny_model(3, causal=True)
    graph, noise = Absorbing(TOK.vocab_size), LogLinearNoise()
    def batch_change():
        c = StaticBlockCache(blk); c.add(torch.zeros(2, 4, dtype=torch.long)); c.add(torch.zeros(3, 4, dtype=torch.long))
    return [
        ('unknown decode', lambda: generate(blk, graph, noise, 1, 8, 2, decode='fast'), "decode must be one of ('plain', 'static', 'graphs')"),
        ('AR options', lambda: generate(ar, graph, noise, 1, 8, 0, 'ar', bos_id=0, temperature=0.5), 'the AR baseline samples its exact'),
        ('AR without bos', lambda: generate(ar, graph, noise, 1, 8, 0, 'ar'), "pass the tokenizer's eos_id"),
        ('AR cache too short', lambda: ar_decode(ar, 1, 17, 0), 'length=17 exceeds the model'),
        ('context past max_len', lambda: static_blocks(blk, graph, noise, 1, 8, context=16), 'pass context <= 12'),
        ('batch change', batch_change, 'the cache holds 4 tokens of another batch size'),
        ('AR watched', lambda: generate(ar, graph, noise, 1, 8, 0, 'ar', bos_id=0, watch=print), 'has none to show'),
        ('static cache watched', lambda: generate(blk, graph, noise, 1, 8, 2, decode='static', watch=print), "Pass decode='plain'"),
    ]


@pytest.mark.parametrize('i', range(8))
def test_bad_inputs_say_what_to_do(i):
    name, fn, words = _bad_inputs()[i]
    with pytest.raises((ValueError, RuntimeError)) as e: fn()
    assert words in str(e.value), (name, str(e.value))

if __name__ == '__main__' and '--write' in sys.argv:
    from sedd_nb.generate import sample_texts
    RECORD.write_text(json.dumps(outputs(sample_texts), indent=1) + '\n')
