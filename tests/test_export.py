"Every notebook that declares a module exports it, and every exported module imports."
import importlib, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def declared_modules():
    "Map notebook name -> module named by its `#| default_exp` directive."
    mods = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        if nb.name.startswith(('.', '_')): continue  # nbdev skips these too
        for cell in json.loads(nb.read_text())['cells']:
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(cell['source']), re.M)
            if m: mods[nb.name] = m.group(1)
    return mods


def test_notebooks_declare_distinct_modules():
    mods = declared_modules()
    assert len(set(mods.values())) == len(mods), f'two notebooks export the same module: {mods}'


def test_every_declared_module_is_exported_and_imports():
    for nb, mod in declared_modules().items():
        path = ROOT/'sedd_nb'/(mod.replace('.', '/') + '.py')
        assert path.exists(), f'{nb} declares `{mod}` but {path} is missing: run nbdev-export'
        importlib.import_module(f'sedd_nb.{mod}')
