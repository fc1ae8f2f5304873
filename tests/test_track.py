"TrainConfig.log_to='wandb' in W&B's offline mode (nothing sent): the run's scalars and samples at the right steps, one W&B run continued by a resume; a missing extra fails before anything is written."
import builtins, struct, time

import pytest

from conftest import quiet, tiny_config
from sedd_nb.train import train


def wandb_history(run_file) -> list:
    "The history rows of an offline W&B run file (LevelDB-log records of W&B's protobuf `Record`)."
    from wandb.proto import wandb_internal_pb2 as pb
    b, pos, buf, rows, block = run_file.read_bytes(), 7, b'', [], 32768      # 7: the ':W&B' header
    while pos + 7 <= len(b):
        if block - pos % block < 7: pos += block - pos % block; continue      # a block's tail too short for a header
        _, n, kind = struct.unpack('<IHB', b[pos:pos + 7]); pos += 7
        if kind == 0 and n == 0: break
        buf += b[pos:pos + n]; pos += n
        if kind in (1, 4):                                                    # a whole record, or its last piece
            r = pb.Record(); r.ParseFromString(buf); buf = b''
            if r.WhichOneof('record_type') == 'history':
                rows.append({i.key or '/'.join(i.nested_key): i.value_json for i in r.history.item})
    return rows


def test_wandb_offline_and_resumed(tmp_path, monkeypatch):
    pytest.importorskip('wandb')
    for k, v in dict(WANDB_MODE='offline', WANDB_SILENT='true', WANDB_CONFIG_DIR=str(tmp_path / 'cfg'),
                     WANDB_CACHE_DIR=str(tmp_path / 'cache'), WANDB_DATA_DIR=str(tmp_path / 'data')).items():
        monkeypatch.setenv(k, v)
    run = tmp_path / 'run'
    kw = dict(log_every=1, eval_every=2, log_to='wandb')
    quiet(train, tiny_config(run, steps=4, **kw))
    quiet(train, tiny_config(run, steps=6, **kw))                    # resumed at step 4
    rid = (run / 'wandb_id').read_text()
    files = sorted(run.glob('wandb/offline-run-*/run-*.wandb'))
    assert [f.name for f in files] == [f'run-{rid}.wandb'] * 2        # one W&B run, continued
    for _ in range(100):                  # W&B's service process may still be writing the last records after finish()
        first, second = map(wandb_history, files)
        if any('samples' in r for r in second): break
        time.sleep(0.2)
    steps = lambda rows, key: [int(r['_step']) for r in rows if key in r]
    assert steps(first, 'train/loss_bits_per_char') == [1, 2, 3, 4] and steps(second, 'train/loss_bits_per_char') == [5, 6]
    assert steps(first + second, 'eval/heldout_bits_per_char') == [2, 4, 6]
    assert steps(first, 'samples') == [4] and steps(second, 'samples') == [6]   # the final previews, as text


def test_missing_extra_fails_before_anything_is_written(tmp_path, monkeypatch):
    real = builtins.__import__
    def no_tensorboard(name, *a, **kw):
        if name.startswith('torch.utils.tensorboard') or name == 'tensorboard': raise ImportError(name)
        return real(name, *a, **kw)
    monkeypatch.setattr(builtins, '__import__', no_tensorboard)
    with pytest.raises(ImportError, match=r"pip install 'sedd_nb\[tensorboard\]'"):
        quiet(train, tiny_config(tmp_path / 'run', log_to='tensorboard'))
    assert not (tmp_path / 'run').exists()                             # a failed start leaves nothing behind
