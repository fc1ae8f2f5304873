"""The GPT-2-scale path on a CPU: the `gpt2_small` preset end to end (scaled down), and bf16 autocast numerics.

The preset is taken as it is (torch.compile on, the fused Triton loss on, bf16 autocast on for CUDA, gradient
accumulation, byte-level BPE) with only size and data overrides: one layer of width 64, 128-token blocks, a handful
of sequences, 3 steps, and a byte-level BPE trained by `sedd_nb.data` on the embedded corpus instead of the Hub's
GPT-2 tokenizer (no network here). It runs with TRITON_INTERPRET=1, so the loss goes through the Triton kernels in
the interpreter, then resumes from its checkpoint for 2 more steps.
"""
import json, math, os, subprocess, sys, textwrap
import pytest
import torch

from sedd_nb.graphs import Absorbing
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.noise import LogLinearNoise


def test_gpt2_small_preset_end_to_end_on_cpu(tmp_path):
    code = textwrap.dedent(f"""
        import json, math, time
        import sedd_nb.kernels as K
        from sedd_nb.data import GPT2Tokenizer, load_texts
        from sedd_nb.train import TrainConfig, train
        assert K.triton_interpreted(), 'TRITON_INTERPRET=1 did not reach triton'
        calls = [0]
        orig = K._absorb_forward_rows
        def counted(*a):
            calls[0] += 1
            return orig(*a)
        K._absorb_forward_rows = counted                  # proves the loss ran through the (absorbing) Triton kernels
        texts = load_texts('pydoc')
        tok = GPT2Tokenizer.train(texts[:400], vocab_size=512)
        tok.save({str(tmp_path / 'bpe.json')!r})
        kw = dict(corpus='pydoc', tokenizer={str(tmp_path / 'bpe.json')!r}, out_dir={str(tmp_path / 'run')!r},
                  cache_dir={str(tmp_path / 'cache')!r}, device='cpu', progress=False,
                  model_kw=dict(n_layers=1, d_model=64, n_heads=2, cond_dim=64, max_len=128),
                  seq_len=128, batch_size=4, warmup=1, ckpt_every=3, log_every=1, eval_batches=1, elbo_points=2,
                  sample_steps=4, n_samples=1, val_frac=0.01)
        full = TrainConfig.gpt2_small()                   # the preset itself: what the overrides leave on
        assert full.compile and full.fused_loss and full.amp and full.grad_accum > 1 and full.tokenizer == 'gpt2'
        cfg = TrainConfig.gpt2_small(steps=3, grad_accum=2, **kw)
        t0 = time.time(); a = train(cfg); t1 = time.time()
        n_first = calls[0]
        b = train(TrainConfig.gpt2_small(steps=5, grad_accum=2, **kw))
        t2 = time.time()
        print(json.dumps(dict(a_step=a['step'], b_step=b['step'], a_val=a['val_bpt'], b_val=b['val_bpt'],
                              calls_first=n_first, calls=calls[0], s_first=t1 - t0, s_resume=t2 - t1,
                              samples=b['samples'])))
        """)
    env = {**os.environ, 'TRITON_INTERPRET': '1', 'CUDA_VISIBLE_DEVICES': ''}
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    print(res)
    assert (res['a_step'], res['b_step']) == (3, 5)
    # 3 steps x 2 micro-batches through the kernel, then 2 more steps x 2 after the resume (evaluation is not a loss)
    assert res['calls_first'] == 6 and res['calls'] == 10, res
    assert math.isfinite(res['a_val']) and math.isfinite(res['b_val'])
    assert (tmp_path / 'run' / 'ckpt_0000003.pt').exists() and (tmp_path / 'run' / 'ckpt_0000005.pt').exists()
    lines = [json.loads(l) for l in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert [l['step'] for l in lines if 'loss_bits_tok' in l] == [1, 2, 3, 4, 5]
    assert all(math.isfinite(l['loss_bits_tok']) for l in lines if 'loss_bits_tok' in l)


@pytest.mark.parametrize('sigma', [1e-4, 1e-3, 1e-2, 0.1, 1.0, 5.0, 20.0])
def test_bf16_autocast_forward_and_loss_on_cpu(sigma):
    "Under CPU bf16 autocast the model's log-scores stay finite at every noise level and the loss stays within 2%."
    torch.manual_seed(0)
    graph = Absorbing(511)
    model = SEDDModel(ModelConfig(vocab_size=graph.dim, d_model=64, n_heads=2, n_layers=2, cond_dim=64, max_len=64))
    with torch.no_grad():
        for p in model.parameters(): p.add_(0.05 * torch.randn_like(p))   # leave the zero initialisation
    x0 = torch.randint(0, graph.V, (8, 64), generator=torch.Generator().manual_seed(1))
    s = torch.full((8,), sigma)
    xt = graph.sample_transition(x0, s[:, None], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model(xt, s)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(xt, s)
    assert torch.isfinite(out).all() and torch.isfinite(ref).all()
    f32 = graph.score_entropy(ref.float(), s[:, None], xt, x0).sum()
    bf16 = graph.score_entropy(out.float(), s[:, None], xt, x0).sum()
    assert math.isfinite(bf16.item())
    assert abs(bf16.item() - f32.item()) <= 0.02 * abs(f32.item()) + 1e-6, (sigma, bf16.item(), f32.item())
