"""The docs site as a reader sees it: every page of `docs/` in headless Chromium, with no host but 127.0.0.1.

`tools/check_docs.py` does the reading; these tests run it on the site and on a copy with defects planted, so the
check itself is shown to fail when the site is broken. Without Chromium the tests skip and say so (in CI, where
`.ci/run` installs Debian's `chromium`, they fail instead).
"""
import os, re, shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402

if check_docs.find_chromium() is None:
    if os.environ.get('CI'): raise RuntimeError('CI needs Chromium for the docs check: apt-get install chromium')
    pytest.skip('Chromium not found, so the docs site is not checked in a browser: apt-get install chromium',
                allow_module_level=True)


def test_site_is_clean():
    "Every page clean; the first screens of a few pages saved in `_build/screenshots/` (not committed) to look at."
    shots = ROOT/'_build'/'screenshots'
    for old in shots.glob('*.png'): old.unlink()
    failures = check_docs.check(ROOT/'docs', shots=shots, verbose=False)
    assert failures == [], '\n'.join(failures)
    assert sorted(p.name for p in shots.glob('*.png')) == sorted(f'{p}.png' for p in check_docs.SHOT_PAGES)


def plant(path, old, new, count=1):
    text = path.read_text()
    assert old in text, f'{old!r} not in {path.name}'
    path.write_text(text.replace(old, new, count))


def test_check_catches_planted_defects(tmp_path):
    "Each defect the docs once had, put back into a copy of the site, is reported on its page (eight of them)."
    site = tmp_path/'site'
    shutil.copytree(ROOT/'docs', site)
    css = next((site/'assets'/'stylesheets').glob('main.*.min.css'))
    css.unlink()                                                                # theme CSS missing: a 404
    plant(site/'noise.html', '</head>', '<script src="https://cdn.example.org/mathjax.js"></script></head>')
    plant(site/'graphs.html', 'class="arithmatex"', 'class="math"')             # a formula MathJax skips
    plant(site/'losses.html', '<pre><span></span><code>', '<pre><span></span><code>#| echo: false\n')  # a directive in a code cell
    html = (site/'likelihood.html').read_text()
    (site/'likelihood.html').write_text(re.sub(r'<h1[^>]*>.*?</h1>', '<h1>07_likelihood</h1>', html, count=1, flags=re.S))
    plant(site/'eval.html', '</article>', '<pre>ppl: 50%|#####     | 2/4 [00:04&lt;00:04]</pre></article>')
    plant(site/'noise.html', '</article>', '<p><span class="arithmatex">\\(\\text{d\\_sigma}\\)</span></p></article>')
    plant(site/'score_entropy.html', '<details class="success">', '<details class="success" open="open">')   # an answer unfolded
    failures = check_docs.check(site, verbose=False)
    def reported(page, text): return any(f.startswith(page + ':') and text in f for f in failures)
    assert reported('index', 'HTTP 404') and reported('sampling', 'HTTP 404'), failures   # every page lost its CSS
    assert reported('noise', 'cdn.example.org'), failures
    assert reported('noise', 'show a TeX command as text'), failures
    assert reported('graphs', 'formulas typeset, the notebook has'), failures
    assert reported('losses', 'directive on the page'), failures
    assert reported('likelihood', 'heading is a file stem'), failures
    assert reported('eval', 'progress bar on the page'), failures
    assert reported('score_entropy', 'folded answers'), failures


def test_notebook_math_count(tmp_path):
    "The expected-formula count of a notebook: inline and display math, not dollars in code or escaped ones."
    import json
    nb = {'cells': [{'cell_type': 'markdown', 'source': ['$a$ and $$b$$ and `$c$` and \\$5 and $ d $\n',
                                                         '```\n$e$\n```\n$$\nf\n$$']},
                    {'cell_type': 'code', 'source': ['x = "$g$"']}]}
    p = tmp_path/'math_count.ipynb'
    p.write_text(json.dumps(nb))
    assert check_docs.notebook_math(p) == 3
