"""Build the docs site in `docs/` and `README.md` offline, without Quarto.

    python tools/build_docs.py

Steps:
1. nbdev's own preprocessing (`proc_nbs`): applies the cell directives (`#| hide`, `#| echo: false`, ...)
   and runs the `show_doc` cells, writing processed notebooks to `_proc/`. We call it directly rather than
   `nbdev-proc-nbs`, because that command first tries to download Quarto, which needs the internet.
2. mkdocs-material + mkdocs-jupyter render the processed notebooks, with their saved outputs (plots, tables)
   and math, into a static site in `docs/`. Nothing is executed: the notebooks' saved outputs are shown.
3. README.md is rendered from `nbs/index.ipynb` (processed) as GitHub markdown, its images in `README_files/`.

People with Quarto can still run `nbdev-docs`: `nbs/_quarto.yml`, `nbs/nbdev.yml` and `nbs/sidebar.yml`
are kept valid by step 1.
"""
import hashlib, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def nbdev_preprocess(root=ROOT):
    "Refresh nbdev's quarto config and sidebar, then process `nbs/` into `_proc/` (show_doc, directives)."
    os.chdir(root)
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.doclinks import _build_modidx
    from nbdev.serve import proc_nbs
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(force=True)
    return proc_nbs(n_workers=0)


CELL_KEYS = {'code': {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count'},
             'markdown': {'cell_type', 'id', 'metadata', 'source', 'attachments'},
             'raw': {'cell_type', 'id', 'metadata', 'source', 'attachments'}}


def strip_nbdev_keys(proc):
    """nbdev's processing leaves keys on cells (`has_sd`, timing metadata) that nbformat validation rejects: drop them.
    Cell ids are made from the position and source, so the cells nbdev inserts with random ids do not change the
    rendered site on every build."""
    for p in proc.glob('*.ipynb'):
        nb = json.loads(p.read_text())
        nb['cells'] = [{k: v for k, v in c.items() if k in CELL_KEYS[c['cell_type']]} for c in nb['cells']]
        for i, c in enumerate(nb['cells']):
            c['metadata'].pop('execution', None)  # nbdev's timings, not nbformat's schema
            c['id'] = hashlib.sha1(f"{i}:{''.join(c['source'])}".encode()).hexdigest()[:8]
        p.write_text(json.dumps(nb, indent=1))


def title_of(nb_path):
    "The notebook's first `# heading`, for the navigation."
    nb = json.loads(Path(nb_path).read_text())
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        m = re.search(r'^#\s+(.+)$', ''.join(c['source']), re.M)
        if m: return m.group(1).strip()
    return Path(nb_path).stem


def mkdocs_config(proc, site_dir):
    "An mkdocs.yml for the processed notebooks, navigation in reading order (the numeric file prefixes)."
    nbs = sorted(p for p in proc.glob('*.ipynb') if p.name != 'index.ipynb')
    nav = [{'Home': 'index.ipynb'}] + [{title_of(p): p.name} for p in nbs]
    return {
        'site_name': 'sedd_nb', 'docs_dir': str(proc), 'site_dir': str(site_dir),
        'site_description': 'Score Entropy Discrete Diffusion, from first principles to GPT-2 scale',
        'use_directory_urls': False, 'nav': nav,
        'theme': {'name': 'material', 'features': ['navigation.sections', 'content.code.copy'],
                  'palette': {'primary': 'indigo'}},
        'markdown_extensions': ['admonition', 'tables', {'pymdownx.arithmatex': {'generic': True}}],
        'extra_javascript': ['javascripts/mathjax.js',
                             'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js'],
        'plugins': [{'mkdocs-jupyter': {'execute': False, 'include_source': True, 'ignore_h1_titles': True,
                                         'include_requirejs': True}}],
        'exclude_docs': '*.yml\n*.css\n',
    }


MATHJAX_CFG = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"], ["$", "$"]], displayMath: [["\\\\[", "\\\\]"], ["$$", "$$"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|jp-RenderedMarkdown|jp-RenderedHTMLCommon"}
};
"""


def build_site(proc, root=ROOT):
    "Render `_proc/` with mkdocs into `docs/`; fails loudly on a broken build."
    import yaml
    site = root/'docs'
    (proc/'javascripts').mkdir(exist_ok=True)
    (proc/'javascripts'/'mathjax.js').write_text(MATHJAX_CFG)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp)/'mkdocs.yml'
        cfg.write_text(yaml.safe_dump(mkdocs_config(proc, Path(tmp)/'site'), sort_keys=False))
        subprocess.run(env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, args=[sys.executable, '-m', 'mkdocs', 'build', '--strict', '-q', '-f', str(cfg)], check=True)
        if site.exists(): shutil.rmtree(site)
        shutil.copytree(Path(tmp)/'site', site)
    (site/'.nojekyll').touch()
    return site


def build_readme(proc, root=ROOT):
    "README.md from the processed index notebook, as markdown with its images beside it."
    import yaml
    from nbconvert import MarkdownExporter
    body, res = MarkdownExporter().from_filename(str(proc/'index.ipynb'))
    files = root/'README_files'
    if files.exists(): shutil.rmtree(files)
    for name, data in res.get('outputs', {}).items():
        files.mkdir(exist_ok=True)
        (files/name).write_bytes(data)
        body = body.replace(f']({name})', f'](README_files/{name})')
    front = re.match(r'\A---\n(.*?)\n---\n', body, flags=re.S)  # nbdev's frontmatter: title and summary
    meta = yaml.safe_load(front.group(1)) if front else {}
    body = body[front.end():] if front else body
    head = f"# {meta['title']}\n\n" if meta.get('title') else ''
    if meta.get('description'): head += f"> {meta['description']}\n\n"
    body = head + body
    (root/'README.md').write_text(body.strip() + '\n')


def check_site(site):
    "Fail if a page is missing or a notebook page lost its images."
    pages = sorted(site.glob('*.html'))
    names = {p.name for p in pages}
    expected = {p.stem + '.html' for p in (ROOT/'nbs').glob('*.ipynb')}
    missing = expected - names
    if missing: raise SystemExit(f'docs build is missing pages: {sorted(missing)}')
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        n_img = json.dumps(json.loads(nb.read_text())).count('"image/png"')
        html = (site/(nb.stem + '.html')).read_text()
        if n_img and html.count('data:image/png') + html.count('.png') < 1:
            raise SystemExit(f'{nb.name} has {n_img} saved plots but its page shows none')
    print(f'docs: {len(pages)} pages in {site}')


if __name__ == '__main__':
    proc = nbdev_preprocess()
    strip_nbdev_keys(proc)
    site = build_site(proc)
    build_readme(proc)
    check_site(site)
