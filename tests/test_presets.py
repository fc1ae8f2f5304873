"""Overrides compose with presets: a `model_kw` override adds to the preset's, the advice of a refusal keeps the preset
what it is, and a network field given as a key points to `model_kw`."""
import pytest

from sedd_nb.cli import parse_overrides
from sedd_nb.config import TrainConfig

BLOCKS = TrainConfig.char_blocks().model_kw           # the block preset's network: block_size, 'subs', no sigma


def preset(name, *overrides): return TrainConfig.from_preset(name, **parse_overrides(list(overrides)))


def test_model_kw_adds_to_the_presets():
    assert preset('char_blocks', "model_kw={'n_layers': 3}").model_kw == {**BLOCKS, 'n_layers': 3}
    assert TrainConfig.char_blocks(model_kw={'block_size': 2}).model_kw == {**BLOCKS, 'block_size': 2}
    assert preset('char_long', "model_kw={'n_layers': 3}").model_kw == {'n_layers': 3}
    assert preset('gpt2_medium', "model_kw={'dropout': 0.1}").model_kw == {'dropout': 0.1}


def test_the_advice_of_a_refusal_keeps_a_block_preset_a_block_model():
    with pytest.raises(ValueError, match=r"pass model_kw=\{'max_len': 300\}"):
        preset('char_blocks', 'seq_len=300')
    assert preset('char_blocks', 'seq_len=300', "model_kw={'max_len': 300}").model_kw == {**BLOCKS, 'max_len': 300}


@pytest.mark.parametrize('key', ['block_size=4', 'n_layers=3', 'dropout=0.1'])
def test_a_network_field_as_a_key_points_to_model_kw(key):
    k, v = key.split('=')
    with pytest.raises(ValueError) as e: preset('char_blocks', key)
    assert f"""pass it in model_kw, e.g. model_kw={{'{k}': {v}}}""" in str(e.value) and 'batch_size' not in str(e.value), str(e.value)


def test_a_block_longer_than_the_network_is_refused_at_once():
    with pytest.raises(ValueError, match='block_size=300 is longer than max_len=256'):
        preset('char_blocks', "model_kw={'block_size': 300}")


def test_a_block_preset_is_not_turned_into_a_plain_model():
    with pytest.raises(ValueError, match="use the 'char' preset"):
        preset('char_blocks', "model_kw={'block_size': None}")


def test_the_docstring_names_every_preset():
    from sedd_nb.config import PRESETS, TrainConfig
    assert [p for p in PRESETS if f'`{p}`' not in TrainConfig.__doc__] == []
