"""Re-run a notebook in place for its saved outputs, except the `#| eval: false` cells, whose saved outputs are kept.

nbdev-test skips those cells (real training, long sweeps); `jupyter nbconvert --execute` would run them. This runs
everything else in order in one kernel, so new or changed test cells get fresh outputs while the long cells keep the
outputs of their last real run.

    python tools/run_notebook.py nbs/06_sampling.ipynb [more.ipynb ...] [--timeout 1800] [--long]
    python tools/run_notebook.py nbs/12_char_tutorial.ipynb --only runs/char_long   # the cells of one new run
    python tools/run_notebook.py nbs/12_char_tutorial.ipynb --only '# COMPARE' --only 'runs/char_ar'   # either text
"""
import argparse, re, sys

import nbformat
from nbclient import NotebookClient

SKIP = re.compile(r'^\s*#\|\s*eval\s*:\s*false\s*$', re.M)


def run(path, timeout, long=False, only=None, skip=None):
    "Run `path` in place; eval: false cells only with `long` or `only` (texts: a cell holding any of them), none holding `skip`."
    nb = nbformat.read(path, as_version=4)
    def keep_old(c):
        if c.cell_type != 'code' or not SKIP.search(c.source): return False
        if not (long or only): return True
        return (bool(only) and not any(o in c.source for o in only)) or (skip is not None and skip in c.source)
    skipped = [i for i, c in enumerate(nb.cells) if keep_old(c)]
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
    ap.add_argument('--only', action='append', default=None,
                    help='of the eval: false cells, run only those containing this text (repeat for several)')
    ap.add_argument('--skip', default=None, help='of the eval: false cells, keep those containing this text')
    a = ap.parse_args()
    for p in a.notebooks: run(p, a.timeout, a.long, a.only, a.skip)
    sys.exit(0)
