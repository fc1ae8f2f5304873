"""Build the docs site in `docs/` and `README.md` offline, without Quarto.

    python tools/build_docs.py

Steps:
1. nbdev's own preprocessing (`proc_nbs`) runs the `show_doc` cells and adds cross-reference links, writing
   processed notebooks to `_proc/`. We call it directly rather than `nbdev-proc-nbs`, because that command first
   tries to download Quarto, which needs the internet.
2. Each processed notebook becomes one markdown page (`notebook_page`): the cell directives that Quarto would
   apply (`#| echo: false`, `#| output: asis`, `#| include: false`, `#| code-fold: true` with `#| code-summary`)
   are applied here, and so are Quarto's callouts (`::: {.callout-tip}`, folded with `collapse="true"`), as
   mkdocs admonitions; the front matter gives the page's title, saved plots become PNG files beside the page,
   and each API block gets the exact source of the exported object in a collapsed block. Nothing is executed:
   the notebooks' saved outputs are shown.
3. mkdocs-material renders the pages into a static site in `docs/`: search, previous/next links, one shared
   stylesheet, and math typeset by MathJax served from the site itself (from the `django-static-mathjax` wheel),
   so a reader offline sees the same pages as one online.
4. README.md is the index page in GitHub's markdown, its images in `README_files/`.

People with Quarto can still run `nbdev-docs`: `nbs/_quarto.yml`, `nbs/nbdev.yml` and `nbs/sidebar.yml` are kept
valid by step 1. `tools/check_docs.py` opens every page of the result in headless Chromium.
"""
import ast, base64, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC_HOST = 'https://sedd-nb.github.io/sedd_nb/'   # nbdev's link base (settings: doc_host + doc_baseurl)
REPO_URL = 'https://github.com/sedd-nb/sedd_nb'
# Chapters grouped for the sidebar, by the notebooks' numeric prefixes.
SECTIONS = [('Ideas on two dice', range(0, 3)), ('Discrete diffusion', range(3, 8)),
            ('At scale', range(8, 12)), ('Using it', range(12, 100))]


def nbdev_preprocess(root=ROOT):
    "Refresh nbdev's quarto config and sidebar, then process `nbs/` into `_proc/` (show_doc, directives, links)."
    os.chdir(root)
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.doclinks import _build_modidx
    from nbdev.serve import proc_nbs
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(force=True)
    return Path(proc_nbs(n_workers=0))


# ---------------------------------------------------------------------------------------------------------
# One notebook -> one markdown page


def front_matter(nb):
    "The YAML front matter nbdev puts in the first raw cell: title, description, output-file."
    import yaml
    for c in nb['cells']:
        if c['cell_type'] == 'raw':
            m = re.match(r'\A\s*---\n(.*?)\n---', ''.join(c['source']), flags=re.S)
            if m: return yaml.safe_load(m.group(1)) or {}
    return {}


def directives(src):
    "Quarto-style cell options (`#| key: value`, or nbdev's bare `#| hide`) and the source without them."
    opts, keep = {}, []
    for line in src.splitlines():
        m = re.match(r'^\s*#\|\s*([\w-]+)\s*(?::\s*(.*))?$', line)
        if m:
            value = (m.group(2) or 'true').strip()
            opts[m.group(1)] = value.strip('"\'') if m.group(1) == 'code-summary' else value.lower()   # a title keeps its case
        else: keep.append(line)
    return opts, '\n'.join(keep).strip('\n')


def indented(md):
    "`md` indented by four spaces: the body of an admonition or a collapsed block."
    return '\n'.join('    ' + l if l.strip() else '' for l in md.splitlines())


# Quarto's callout kinds -> mkdocs-material's admonition kinds (the same name where both have it)
CALLOUT_KINDS = {'note': 'note', 'tip': 'tip', 'warning': 'warning', 'important': 'info', 'caution': 'warning'}
CALLOUT = re.compile(r'^:::+\s*\{\.callout-(\w+)([^}]*)\}[ \t]*\n(?:#{1,6}[ \t]+([^\n]+)\n)?(.*?)^:::+[ \t]*$', re.S | re.M)


def callouts(md):
    """Quarto's callout blocks (`::: {.callout-tip collapse="true"}`, then an optional `## Title` line) as mkdocs
    admonitions: a box, or a folded block the reader opens when the callout has `collapse="true"`."""
    def sub(m):
        kind, attrs, title, body = m.groups()
        mark = '???' if re.search(r'collapse\s*=\s*"?true', attrs) else '!!!'
        title = (title or kind.capitalize()).strip().replace('"', "'")
        return f'{mark} {CALLOUT_KINDS.get(kind, "note")} "{title}"\n\n{indented(body.strip(chr(10)))}\n'
    return CALLOUT.sub(sub, md)


ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


def fence(text, lang='', cls=''):
    "A fenced block that no backtick run inside `text` can close early."
    ticks = '`' * max(3, 1 + max((len(m) for m in re.findall(r'`+', text)), default=0))
    info = f'{{.{lang} .{cls}}}' if cls else lang
    return f'{ticks}{info}\n{text}\n{ticks}'


def stream_text(text):
    r"What a terminal shows for `text`: each `\r` overwrites its line, ANSI colour codes dropped."
    lines = [line.split('\r')[-1] for line in ANSI.sub('', text).split('\n')]
    return '\n'.join(lines).strip('\n')


def source_block(url):
    "The exported object a show_doc `[source](...#Lnn)` link points at: its code, from the module on disk."
    m = re.search(r'/blob/[^/]+/(.+?\.py)#L(\d+)', url)
    if not m: return None
    path, line = ROOT/m.group(1), int(m.group(2))
    if not path.exists(): return None
    text = path.read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line in (first, node.lineno):
                lines = text.splitlines()[first - 1:node.end_lineno]
                indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
                return m.group(1), first, node.end_lineno, '\n'.join(l[indent:] for l in lines)
    return None


def api_block(md):
    """nbdev's show_doc markdown (written for Quarto) in mkdocs' dialect: the heading gets nbdev's anchor id,
    the source link a class instead of an inline style, and the object's code follows in a collapsed block."""
    md = re.sub(r'^---\s*$', '', md, count=1, flags=re.M).strip()
    src = None
    def link(m):
        nonlocal src
        src = source_block(m.group(1))
        return f'[source]({m.group(1)}){{.api-source}}'
    md = re.sub(r'\[source\]\(([^)]+)\)\{[^}]*\}', link, md)
    md = re.sub(r'^(#{2,4}) (\S+)\s*$', lambda m: f'{m.group(1)} {m.group(2)} {{#{m.group(2).lower()}}}', md, flags=re.M)
    out = f'<div class="api-block" markdown>\n\n{md}\n\n'
    if src:
        path, a, b, code = src
        body = '\n'.join('    ' + l if l else '' for l in fence(code, 'python').splitlines())
        out += f'??? example "Source: `{path}`, lines {a} to {b}"\n\n{body}\n\n'
    return out + '</div>'


def rewrite_links(md, pages, anchors, readme=False):
    """Cross-references inside the site: nbdev's absolute doc links and links to `NN_name.ipynb` become links to
    the page's markdown file (so mkdocs checks them); an anchor the page lacks falls back to its enclosing name
    (`class.method` -> `class`), then to the page. In the README they point at the notebooks in the repository."""
    def target(page, anchor):
        if readme: return f'nbs/{pages[page]}' + (f'#{anchor}' if anchor else '')
        ids = anchors.get(page, set())
        while anchor and anchor not in ids: anchor = anchor.rpartition('.')[0]
        return f'{page}.md' + (f'#{anchor}' if anchor else '')
    def sub_doc(m):
        page = m.group(1)
        return f']({target(page, m.group(2))})' if page in pages else m.group(0)
    md = re.sub(r'\]\(' + re.escape(DOC_HOST) + r'([\w-]+)\.html(?:#([^)\s]+))?\)', sub_doc, md)
    by_nb = {nb: page for page, nb in pages.items()}
    md = re.sub(r'\]\((\d\d[a-z]?_[\w-]+\.ipynb|index\.ipynb)(?:#([^)\s]+))?\)',
                lambda m: f']({target(by_nb[m.group(1)], m.group(2))})' if m.group(1) in by_nb else m.group(0), md)
    return md


def cell_outputs(outputs, img_dir, img_prefix, readme):
    "Markdown for a code cell's saved outputs; images are written to `img_dir`."
    parts = []
    for k, o in enumerate(outputs):
        kind = o['output_type']
        if kind == 'stream':
            text = stream_text(''.join(o['text']))
            if text.strip(): parts.append(fence(text, 'text', 'cell-output'))
        elif kind == 'error':
            parts.append(fence(stream_text('\n'.join(o.get('traceback', []))), 'text', 'cell-output'))
        elif kind in ('execute_result', 'display_data'):
            data = o.get('data', {})
            if 'image/png' in data:
                img_dir.mkdir(parents=True, exist_ok=True)
                name = f'{img_prefix}_{k}.png'
                (img_dir/name).write_bytes(base64.b64decode(''.join(data['image/png'])))
                parts.append(f'![png]({img_dir.name}/{name})')
            elif 'text/markdown' in data:
                md = ''.join(data['text/markdown'])   # show_doc's API blocks, or a cell's markdown output
                parts.append(api_block(md) if '[source](' in md and not readme else md)
            elif 'text/html' in data and not readme:
                parts.append(f'<div class="cell-output" markdown>\n{"".join(data["text/html"])}\n</div>')
            elif 'text/plain' in data:
                text = ''.join(data['text/plain'])
                if text.strip(): parts.append(fence(text, 'text', 'cell-output'))
    return parts


def notebook_page(nb_path, pages, anchors, img_dir, readme=False):
    "The markdown page of one processed notebook, and its title."
    nb = json.loads(Path(nb_path).read_text())
    meta = front_matter(nb)
    title = meta.get('title') or Path(nb_path).stem
    parts = [f'# {title}']
    if meta.get('description'): parts.append(f'<p class="lead" markdown>{meta["description"]}</p>'
                                             if not readme else f'> {meta["description"]}')
    mod = next((re.search(r'default_exp\s+(\S+)', ''.join(c['source'])).group(1)
                for c in json.loads((ROOT/'nbs'/Path(nb_path).name).read_text())['cells']
                if c['cell_type'] == 'code' and 'default_exp' in ''.join(c['source'])), None)
    if not readme and Path(nb_path).name != 'index.ipynb':
        src = f'[`nbs/{Path(nb_path).name}`]({REPO_URL}/blob/main/nbs/{Path(nb_path).name})'
        if mod: src += f', exported to [`sedd_nb/{mod}.py`]({REPO_URL}/blob/main/sedd_nb/{mod}.py)'
        parts.append(f'<p class="chapter-source" markdown>Source: {src}</p>')
    for i, c in enumerate(nb['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if 'WARNING: THIS FILE WAS AUTOGENERATED' in src: continue
            if readme: src = src.replace('](images/', '](nbs/images/')   # the notebooks' own images, from the repository root
            parts.append(rewrite_links(src if readme else callouts(src), pages, anchors, readme))
        elif c['cell_type'] == 'code':
            opts, code = directives(src)
            if opts.get('include') == 'false' or 'hide' in opts: continue
            cell = []
            if opts.get('echo') != 'false' and code.strip(): cell.append(fence(code, 'python'))
            if opts.get('output') != 'false':
                outs = cell_outputs(c.get('outputs', []), img_dir, f'cell{i}', readme)
                cell += [rewrite_links(p, pages, anchors, readme) for p in outs]
            if opts.get('code-fold') == 'true' and cell and not readme:   # Quarto's folded code: a block to open
                summary = opts.get('code-summary', 'Code').replace('"', "'")
                cell = [f'??? success "{summary}"\n\n' + indented('\n\n'.join(cell))]
            parts += cell
    return title, '\n\n'.join(parts) + '\n'


def page_names(proc):
    "notebook file -> page name, from nbdev's `output-file` (what its cross-reference links use)."
    names = {}
    for p in sorted(proc.glob('*.ipynb')):
        out = front_matter(json.loads(p.read_text())).get('output-file', p.stem + '.html')
        names[Path(out).stem] = p.name
    return names


def api_anchors(proc, pages):
    "The anchor ids of the API blocks on each page (the show_doc headings)."
    anchors = {}
    for page, nb in pages.items():
        text = (proc/nb).read_text()
        anchors[page] = {m.lower() for m in re.findall(r'\\n#{2,4} (\S+?)\\n', text)}
    return anchors


# ---------------------------------------------------------------------------------------------------------
# The site

MATHJAX_CFG = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|md-nav__link|md-ellipsis"},
  chtml: {fontURL: new URL("mathjax/output/chtml/fonts/woff-v2", document.currentScript.src.replace(/javascripts\\/[^/]*$/, "")).href}
};
"""

SITE_CSS = """/* sedd_nb docs: the one shared stylesheet beside the theme's */
.md-typeset .lead { font-size: 1.05em; color: var(--md-default-fg-color--light); }
.md-typeset .chapter-source { font-size: .75em; color: var(--md-default-fg-color--light); }
.md-typeset .api-block { border-top: 1px solid var(--md-default-fg-color--lightest); margin-top: 1.6em; padding-top: .2em; }
.md-typeset .api-block h3, .md-typeset .api-block h4 { margin-top: .6em; }
.md-typeset a.api-source { float: right; font-size: .75em; margin-top: .9em; }
.md-typeset pre.cell-output > code, .md-typeset .cell-output pre > code { background: var(--md-default-bg-color); border-left: 3px solid var(--md-default-fg-color--lightest); }
.md-typeset img[alt=png] { max-width: 100%; }
.md-typeset mjx-container[display="true"] { overflow-x: auto; overflow-y: hidden; }
"""


def mathjax_files():
    "MathJax's browser build from the `django-static-mathjax` wheel (a plain copy of MathJax 3's es5 folder)."
    try: import mathjax
    except ImportError: raise SystemExit("docs: MathJax is missing; install the dev extras: pip install -e '.[dev]'")
    es5 = Path(mathjax.__file__).parent/'static'/'mathjax'/'es5'
    if not (es5/'tex-chtml.js').exists(): raise SystemExit(f'docs: no tex-chtml.js under {es5}')
    return es5


def copy_mathjax(dest):
    "The parts of MathJax the pages use: the TeX-to-HTML component, its fonts and the extensions it autoloads."
    es5 = mathjax_files()
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(es5/'tex-chtml.js', dest/'tex-chtml.js')
    for sub in ['output/chtml/fonts/woff-v2', 'input/tex/extensions']:
        if (es5/sub).exists(): shutil.copytree(es5/sub, dest/sub, dirs_exist_ok=True)


def mkdocs_config(src, site_dir, nav):
    return {
        'site_name': 'sedd_nb', 'docs_dir': str(src), 'site_dir': str(site_dir),
        'site_description': 'Score Entropy Discrete Diffusion, from first principles to GPT-2 scale',
        'site_url': DOC_HOST, 'use_directory_urls': False, 'nav': nav,
        'theme': {'name': 'material', 'font': False,   # no Google Fonts: the site works with no other host
                  'features': ['navigation.sections', 'navigation.footer', 'navigation.top', 'toc.follow',
                               'search.highlight', 'search.suggest', 'content.code.copy'],
                  'palette': {'primary': 'indigo'}},
        'markdown_extensions': ['admonition', 'tables', 'attr_list', 'md_in_html', 'pymdownx.details',
                                {'toc': {'permalink': True}},
                                {'pymdownx.highlight': {'use_pygments': True}}, 'pymdownx.superfences',
                                {'pymdownx.arithmatex': {'generic': True}}],
        'extra_css': ['stylesheets/sedd.css'],
        'extra_javascript': ['javascripts/mathjax-config.js', 'mathjax/tex-chtml.js'],
        'plugins': ['search'],
        'validation': {'links': {'not_found': 'warn', 'anchors': 'warn', 'unrecognized_links': 'warn'}},
    }


def build_pages(proc, dest):
    "Write every processed notebook as a markdown page into `dest`; return the sidebar's navigation."
    pages = page_names(proc)
    anchors = api_anchors(proc, pages)
    titles = {}
    for page, nb in pages.items():
        title, md = notebook_page(proc/nb, pages, anchors, dest/f'{page}_files')
        (dest/f'{page}.md').write_text(md)
        titles[page] = title
    chapters = sorted((nb, page) for page, nb in pages.items() if page != 'index')
    nav = [{'Home': 'index.md'}]
    for name, nums in SECTIONS:
        group = [{titles[page]: f'{page}.md'} for nb, page in chapters if int(nb[:2]) in nums]
        if group: nav.append({name: group})
    return nav


def build_site(proc, root=ROOT):
    "Render `_proc/` into `docs/`; fails loudly on a broken build (mkdocs --strict)."
    import yaml
    site = root/'docs'
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)/'src'
        src.mkdir()
        nav = build_pages(proc, src)
        if (root/'nbs'/'images').is_dir(): shutil.copytree(root/'nbs'/'images', src/'images')   # `![..](images/x.gif)`
        (src/'javascripts').mkdir()
        (src/'javascripts'/'mathjax-config.js').write_text(MATHJAX_CFG)
        (src/'stylesheets').mkdir()
        (src/'stylesheets'/'sedd.css').write_text(SITE_CSS)
        copy_mathjax(src/'mathjax')
        cfg = Path(tmp)/'mkdocs.yml'
        cfg.write_text(yaml.safe_dump(mkdocs_config(src, Path(tmp)/'site', nav), sort_keys=False))
        subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '-q', '-f', str(cfg)], check=True,
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
        for junk in ['sitemap.xml', 'sitemap.xml.gz']:   # dated on every build, and no use offline
            (Path(tmp)/'site'/junk).unlink(missing_ok=True)
        if site.exists(): shutil.rmtree(site)
        shutil.copytree(Path(tmp)/'site', site)
    (site/'.nojekyll').touch()
    return site


def build_readme(proc, root=ROOT):
    "README.md: the index page in GitHub's markdown, hidden cells left out, images in `README_files/`."
    files = root/'README_files'
    if files.exists(): shutil.rmtree(files)
    pages = page_names(proc)
    title, md = notebook_page(proc/'index.ipynb', pages, {}, files, readme=True)
    (root/'README.md').write_text(md.strip() + '\n')


def check_site(site):
    "Fail if a page is missing or a notebook page lost its images (the browser check is tools/check_docs.py)."
    proc_pages = page_names(ROOT/'_proc')
    missing = [f'{p}.html' for p in proc_pages if not (site/f'{p}.html').exists()]
    if missing: raise SystemExit(f'docs build is missing pages: {missing}')
    for page, nb in proc_pages.items():
        n_img = (ROOT/'nbs'/nb).read_text().count('"image/png"')
        if n_img and not list((site/f'{page}_files').glob('*.png')):
            raise SystemExit(f'{nb} has {n_img} saved plots but its page shows none')
    print(f'docs: {len(proc_pages)} pages in {site}')


if __name__ == '__main__':
    proc = nbdev_preprocess()
    site = build_site(proc)
    build_readme(proc)
    check_site(site)
