"""Every sampler path honours a constraint or refuses it: a suffix on a block model or beyond the window (it would be
pasted on, not infilled), the skipped-call wrapper on a block model, and the block sampler's own arguments."""
import pytest
import torch

from sedd_nb.blocks import BlockCache, BlockSEDDModel, sample_blocks
from sedd_nb.graphs import Uniform
from sedd_nb.hub import load_checkpoint
from sedd_nb.generate import ReuseUnchanged
from sedd_nb.model import ModelConfig, SEDDModel
from sedd_nb.generate import sample_windows
from sedd_nb.sampling import sample
from conftest import cli

SAMPLE = ('sample', '--n', 3, '--steps', 4, '--seed', 5, '--predictor', 'first_hitting')


@pytest.mark.parametrize('which,length', [('block', 32), ('block', 100), ('plain', 100)])
def test_a_suffix_that_cannot_be_read_is_refused(tiny_run, block_run, which, length):
    r = block_run if which == 'block' else tiny_run
    code, out, err = cli(*SAMPLE, '--ckpt', r, '--length', length, '--suffix', 'end.')
    assert code == 2 and 'pasted on, not infilled' in err and len(err.strip().splitlines()) == 1, (out, err)


def test_a_suffix_within_the_window_is_infilled(tiny_run):
    code, out, err = cli(*SAMPLE, '--ckpt', tiny_run, '--length', 32, '--suffix', 'end.')
    texts = [t.rstrip('\n') for t in out.split('---\n')[1:]]
    assert code == 0 and len(texts) == 3 and all(t.endswith('end.') for t in texts), (out, err)


def test_a_prefix_on_a_block_model_is_kept(block_run):
    code, out, err = cli(*SAMPLE, '--ckpt', block_run, '--length', 40, '--prompt', 'The ')
    assert code == 0 and out.count('---\nThe ') == 3, (out, err)


def test_the_skipped_call_wrapper_refuses_a_block_model(block_run):
    b = load_checkpoint(block_run)
    with pytest.raises(ValueError, match='sample_blocks'):
        ReuseUnchanged(b['model'])
    with pytest.raises(ValueError, match='pass x0'):                   # and so does sampling it as a plain model
        sample(lambda x, s: b['model'](x, s), b['graph'], b['noise'], (1, 8), 2)


def test_the_block_samplers_arguments(block_run):
    b = load_checkpoint(block_run)
    m, g, n = b['model'], b['graph'], b['noise']
    with pytest.raises(ValueError, match='steps must be >= 1'):
        sample_blocks(m, g, n, 1, 8, steps=0)
    with pytest.raises(ValueError, match='differs from the block size 4'):
        sample_blocks(BlockCache(m), g, n, 1, 8, block_size=2)
    with pytest.raises(ValueError, match='needs the absorbing graph'):
        sample_blocks(m, Uniform(g.dim - 1), n, 1, 8)
    long = BlockSEDDModel(ModelConfig.tiny(g.dim, output='subs', sigma_cond=False, block_size=32, max_len=16)).eval()
    with pytest.raises(ValueError, match='block_size=32 is longer than its max_len=16'):    # built by hand: never trained
        sample_blocks(long, g, n, 1, 40)


def test_the_window_samplers_arguments(tiny_run):
    b = load_checkpoint(tiny_run)
    f = lambda x, s: b['model'](x, s)
    with pytest.raises(ValueError, match=r'prompt must be \(40,\)'):
        sample_windows(f, b['graph'], b['noise'], (1, 40), 2, window=32, prompt=torch.full((1, 50), -1))
    with pytest.raises(ValueError, match='return_traj=True applies to `sample`'):
        sample_windows(f, b['graph'], b['noise'], (1, 40), 2, window=32, return_traj=True)
