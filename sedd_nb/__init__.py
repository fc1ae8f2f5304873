__version__ = "0.0.1"

# The public surface, in one place: what a user trains, loads, samples and evaluates with. Everything else is reached
# through its chapter's module (`sedd_nb.graphs`, `sedd_nb.sampling`, ...). `train` is the trainer's module, which is
# callable: `train(cfg)` runs `sedd_nb.train.train(cfg)`, and `from sedd_nb.train import ...` works as before.
from .config import TrainConfig
from .checkpoint import LoadedModel
from .hub import export_run, load_checkpoint
from .tokenizer import decode_ids, load_tokenizer
from .sampling import sample
from .eval import zero_shot_ppl
from . import train

__all__ = ['TrainConfig', 'train', 'load_checkpoint', 'LoadedModel', 'export_run', 'load_tokenizer', 'decode_ids',
           'sample', 'zero_shot_ppl']
