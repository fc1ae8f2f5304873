"""A sampler step reads nothing back from the device.

On a GPU every `float(t)`, `int(t)`, `bool(t)`, `t.item()`, `t.tolist()`, `t.cpu()` or `t.nonzero()` of a device
tensor makes the host wait for the GPU. There is no GPU here, so the test counts those calls on the CPU while the
sampler runs, with `on_host` patched to say "not on the host": every value check then takes its GPU path (a
device-side assert), and the sampler reads which positions are masked only every `REFRESH_EVERY` steps, as it does
on a GPU. The network calls split the run into steps; each step must read nothing, except the one `nonzero` of a
refresh step.
"""
import math

import pytest
import torch

from conftest import HOST_READS, counting_reads

from sedd_nb import graphs, sampling
from sedd_nb.graphs import Absorbing
from sedd_nb.noise import LogLinearNoise
from sedd_nb.sampling import REFRESH_EVERY, sample

G, NOISE, B, L = Absorbing(50), LogLinearNoise(), 3, 40


def score_fn(calls):
    "A network stand-in with uneven scores: log p(y) - log(e^sigma - 1), p favouring low ids; marks each call."
    logp = torch.log_softmax(-0.1 * torch.arange(G.V, dtype=torch.float32), 0)
    def f(xt, sigma):
        calls.append('call')
        ls = torch.zeros(*xt.shape, G.dim)
        ls[..., :-1] = logp - torch.log(torch.expm1(sigma))[:, None, None]
        return ls
    return f


def steps_of(calls):
    "The reads between consecutive network calls (the last: after the last call)."
    out, cur = [], None
    for c in calls:
        if c == 'call':
            if cur is not None: out.append(cur)
            cur = []
        elif cur is not None: cur.append(c)
    return out + [cur]


@pytest.mark.parametrize('predictor', ['analytic', 'euler', 'tau_leaping'])
@pytest.mark.parametrize('steps', [5, 16])
def test_analytic_steps_read_only_at_refreshes(monkeypatch, steps, predictor):
    "Analytic, Euler and tau-leaping steps (the same masked-rows step on this graph, chapter 6)."
    with counting_reads(monkeypatch, (graphs, sampling), HOST_READS + ('nonzero',)) as calls:
        x = sample(score_fn(calls), G, NOISE, (B, L), steps, predictor,
                   generator=torch.Generator().manual_seed(0))
    assert bool((x < G.V).all())                                    # finished: no mask left
    reads = steps_of(calls)
    assert len(reads) == steps + 1                                  # steps and the denoising step
    for k, r in enumerate(reads[:-1]):                             # the reads after call k, before call k + 1
        want = ['nonzero'] if (k + 1) % REFRESH_EVERY == 0 else []   # the refresh before step k + 1
        assert r == want, (k, r)
    assert reads[-1] == []
    assert calls[:calls.index('call')] == ['nonzero']               # before the first call: the first refresh only


def test_first_hitting_calls_read_nothing(monkeypatch):
    with counting_reads(monkeypatch, (graphs, sampling), HOST_READS + ('nonzero',)) as calls:
        x = sample(score_fn(calls), G, NOISE, (B, L), 6, predictor='first_hitting', top_p=0.9,
                   generator=torch.Generator().manual_seed(0))
    assert bool((x < G.V).all())
    assert steps_of(calls) == [[]] * 6


def test_counter_sees_a_read(monkeypatch):
    "The counter can fail: confidence-ordered unmasking draws from a table whose totals it checks on the host."
    with counting_reads(monkeypatch, (graphs, sampling), HOST_READS + ('nonzero',)) as calls:
        sample(score_fn(calls), G, NOISE, (B, L), 3, unmask='confidence', generator=torch.Generator().manual_seed(0))
    assert all('__bool__' in r for r in steps_of(calls))


def test_the_step_is_the_same_on_and_off_the_host(monkeypatch):
    "Off the host the step works on a superset of the masked rows (the last refresh); the draws are the same."
    on = sample(score_fn([]), G, NOISE, (B, L), 12, generator=torch.Generator().manual_seed(1))
    with monkeypatch.context() as m:
        for mod in (graphs, sampling): m.setattr(mod, 'on_host', lambda t: False)
        off = sample(score_fn([]), G, NOISE, (B, L), 12, generator=torch.Generator().manual_seed(1))
    assert torch.equal(on, off)
