# `python -m sedd_nb` is the `sedd_nb` command (what `torchrun -m sedd_nb ...` starts on every process).
# Written by hand, not exported: nbdev exports one module per notebook (see nbs/14_cli.ipynb, "Scaling out").
from sedd_nb.cli import cli
if __name__ == '__main__': cli()
