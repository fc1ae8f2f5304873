"""Re-run a notebook in place for its saved outputs, except the `#| eval: false` cells, whose saved outputs are kept.

nbdev-test skips those cells (real training, long sweeps); `jupyter nbconvert --execute` would run them. This runs
everything else in order in one kernel, so new or changed test cells get fresh outputs while the long cells keep the
outputs of their last real run.

    python tools/run_notebook.py nbs/06_sampling.ipynb [more.ipynb ...] [--timeout 1800] [--long]
"""
import argparse, re, sys

import nbformat
from nbclient import NotebookClient

SKIP = re.compile(r'^\s*#\|\s*eval\s*:\s*false\s*$', re.M)


def run(path, timeout, long=False):
    nb = nbformat.read(path, as_version=4)
    skipped = [] if long else [i for i, c in enumerate(nb.cells) if c.cell_type == 'code' and SKIP.search(c.source)]
    kept = {i: nb.cells[i] for i in skipped}
    for i in skipped:                                       # hide them from the kernel, put them back afterwards
        nb.cells[i] = nbformat.v4.new_raw_cell(nb.cells[i].source)
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    for i, c in kept.items(): nb.cells[i] = c
    nbformat.write(nb, path)
    print(f"{path}: ran {sum(c.cell_type == 'code' for c in nb.cells) - len(skipped)} cells, kept {len(skipped)} eval: false cells")


if __name__ == '__main__':
    from pathlib import Path
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--timeout', type=int, default=1800, help='seconds per cell')
    ap.add_argument('--long', action='store_true', help='run the eval: false cells too (real training, long sweeps)')
    a = ap.parse_args()
    for p in a.notebooks: run(p, a.timeout, a.long)
    sys.exit(0)
