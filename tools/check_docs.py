"""Read the docs site as a reader would: every page in headless Chromium, served from 127.0.0.1, every other host
unreachable. Fails on what the reader would see go wrong.

    python tools/check_docs.py [--site docs] [--shots DIR]

Per page it fails on: a failed request (a 404, or any host other than 127.0.0.1), a JavaScript error, a formula
left untypeset, typeset as an error or showing a TeX command as text (and fewer formulas than the page's
source notebook has), build leftovers
(`#|`, `{target=`, `output-file:`, `show_doc(`), paths of the build machine, tqdm warnings or progress bars in
saved outputs, a heading or tab title that is a file stem, an empty page, no previous/next link, a chapter (00-15)
without its summary box or with fewer than three numbered exercises or an answer shown unfolded, and a link inside
the site to a page or anchor that does not exist. It also searches the site once through the search box.
Screenshots of the first screen of a few pages go to `--shots`.

Chromium is driven through its DevTools protocol (the `websocket-client` package). It is Debian's `chromium`
(`apt-get install chromium`); the script says so if it cannot find it.
"""
import argparse, base64, functools, http.server, json, re, shutil, subprocess, sys, tempfile, threading, time
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse

ROOT = Path(__file__).resolve().parents[1]
SHOT_PAGES = ('index', 'concrete_score', 'sampling')
LEFTOVERS = [('directive', r'#\|'), ('attribute text', r'\{target='), ('front matter', r'output-file:'),
             ('show_doc call', r'show_doc\('), ('build-machine path', r'/root/|/home/\w|/tmp/|site-packages|ipykernel_'),
             ('tqdm warning', r'TqdmWarning|IProgress not found'),
             ('progress bar', r'\d+%\|[^|\n]*\|\s*\d+/\d+ \[|\d+/\d+ \[\d\d:\d\d<')]


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'chrome'):
        if path := shutil.which(name): return path
    return None


def serve(site):
    "A static server for `site` on 127.0.0.1 (a free port), in a thread; returns (server, base url)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = functools.partial(Quiet, directory=str(site))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'


class Browser:
    "Headless Chromium with one page, over the DevTools protocol; every host but 127.0.0.1 fails to resolve."

    def __init__(self, exe, width=1280, height=900):
        import websocket
        self.profile = tempfile.mkdtemp(prefix='sedd-docs-chromium-')
        self.proc = subprocess.Popen(
            [exe, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-default-apps', '--disable-extensions', '--hide-scrollbars', '--mute-audio',
             f'--user-data-dir={self.profile}', '--remote-debugging-port=0', f'--window-size={width},{height}',
             '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile)/'DevToolsActivePort'
        for _ in range(200):
            if port_file.exists() and len(port_file.read_text().split()) >= 2: break
            time.sleep(0.05)
        else: raise RuntimeError('Chromium did not open its DevTools port within 10 s')
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list'))
        page = next(t for t in targets if t['type'] == 'page')
        self.ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=60, suppress_origin=True)
        self.next_id, self.events = 0, []
        for domain in ('Page', 'Network', 'Runtime'): self.call(f'{domain}.enable')

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.next_id:
                if 'error' in msg: raise RuntimeError(f"{method}: {msg['error']}")
                return msg['result']
            if 'method' in msg: self.events.append(msg)

    def wait_event(self, method, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e['method'] == method: return self.events.pop(i)
            self.ws.settimeout(max(0.05, end - time.time()))
            try: msg = json.loads(self.ws.recv())
            except Exception: break
            if 'method' in msg: self.events.append(msg)
        raise TimeoutError(f'no {method} within {timeout} s')

    def evaluate(self, js):
        r = self.call('Runtime.evaluate', expression=js, awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r['result'].get('value')

    def close(self):
        try: self.ws.close()
        finally:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


# What the page shows, measured in the page once MathJax has finished.
PAGE_JS = r"""(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const art = document.querySelector('article') || document.body;
  const skip = el => el.closest('pre, code, mjx-container, script, style, .arithmatex, .md-search');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);   // the sidebars too
  let raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (skip(n.parentElement)) continue;
    const m = n.textContent.match(/\$\$?[^$\s][^$]*\$|\\\(|\\\[/g);
    if (m) raw.push(...m.map(s => s.slice(0, 60)));
  }
  const untypeset = [...art.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('mjx-container'))
                     .map(e => e.textContent.slice(0, 60));
  const h1 = art.querySelector('h1');
  return {typeset: art.querySelectorAll('mjx-container').length,
          merror: [...art.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60)),
          // text inside a formula that still holds a TeX command (text mode shows e.g. \\_ as is)
          texcmd: [...art.querySelectorAll('mjx-assistive-mml mtext')].map(e => e.textContent)
                   .filter(t => t.includes('\\')).map(t => t.slice(0, 60)),
          raw, untypeset, h1: h1 ? h1.textContent.replace('¶', '').trim() : '', title: document.title,
          text: (() => { const c = art.cloneNode(true);   // prose may name a directive in `code`
                         c.querySelectorAll(':not(pre) > code').forEach(e => e.remove()); 
                         document.body.appendChild(c); const t = c.innerText; c.remove(); return t; })(), footer: document.querySelectorAll('.md-footer__link').length,
          summary: [...art.querySelectorAll('.admonition > .admonition-title')].some(t => t.textContent.includes('What to take away')),
          exercises: (() => { const h = art.querySelector('h2#exercises'); if (!h) return null;
                              let n = 0, folded = 0;      // numbered exercises (h3) and closed answers (details) after it
                              for (let e = h.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) {
                                if (e.tagName === 'H3' && /^\d+\. /.test(e.textContent)) n++;
                                if (e.tagName === 'DETAILS' && !e.open) folded++; }
                              return {n, folded}; })(),
          search: !!document.querySelector('input.md-search__input'),
          ids: [...document.querySelectorAll('[id]')].map(e => e.id),
          links: [...art.querySelectorAll('a[href]')].map(a => a.href)};
})()"""

SEARCH_JS = r"""(async (q) => {
  const input = document.querySelector('input.md-search__input');
  input.focus(); input.value = q; input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true}));
  for (let i = 0; i < 100; i++) {
    const items = document.querySelectorAll('.md-search-result__item');
    if (items.length) return items.length;
    await new Promise(r => setTimeout(r, 100));
  }
  return 0;
})"""


def notebook_math(nb_path):
    "How many formulas the notebook's markdown cells hold (`$...$` and `$$...$$` outside code)."
    nb = json.loads(Path(nb_path).read_text())
    n = 0
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        s = ''.join(c['source'])
        s = re.sub(r'```.*?```', '', s, flags=re.S)
        s = re.sub(r'(`+).+?\1', '', s)
        s = s.replace(r'\$', '')
        n += len(re.findall(r'\$\$.+?\$\$', s, flags=re.S))
        s = re.sub(r'\$\$.+?\$\$', '', s, flags=re.S)
        n += len(re.findall(r'\$[^$\s](?:[^$]*?[^$\s])?\$', s))
    return n


def page_sources(site):
    "page name -> its source notebook (nbdev names a page after its notebook, less the number)."
    out = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        name = nb.stem if nb.stem == 'index' else re.sub(r'^\d+[a-z]?_', '', nb.stem)
        out[name] = nb
    return out


def check(site, shots=None, verbose=True):
    "Check every page; returns the list of failures (empty when the site is clean)."
    exe = find_chromium()
    if exe is None: raise SystemExit('check_docs: Chromium not found; install it: apt-get install chromium')
    site = Path(site).resolve()
    sources = page_sources(site)
    pages = sorted(p.stem for p in site.glob('*.html') if p.stem != '404')
    missing = sorted(set(sources) - set(pages))
    failures = [f'{m}: no page for nbs/{sources[m].name}' for m in missing]
    srv, base = serve(site)
    br = Browser(exe)
    ids, links, stems = {}, [], {nb.stem for nb in sources.values()} | set(sources)
    try:
        for page in pages:
            br.events.clear()
            br.call('Page.navigate', url=base + page + '.html')
            br.wait_event('Page.loadEventFired')
            r = br.evaluate(PAGE_JS)
            time.sleep(0.2)   # let late requests (fonts) report
            br.evaluate('1')
            bad = []
            urls = {e['params']['requestId']: e['params']['request']['url'] for e in br.events
                    if e['method'] == 'Network.requestWillBeSent'}
            for e in br.events:
                p = e['params']
                if e['method'] == 'Network.loadingFailed' and not p.get('canceled'):
                    bad.append(f"request failed ({p.get('errorText')}): {urls.get(p['requestId'], '?')[:100]}")
                elif e['method'] == 'Network.responseReceived' and p['response']['status'] >= 400:
                    bad.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
                elif e['method'] == 'Network.requestWillBeSent' and not p['request']['url'].startswith(
                        (base, 'data:', 'blob:', 'about:')):
                    bad.append(f"request to another host: {p['request']['url'][:100]}")
                elif e['method'] == 'Runtime.exceptionThrown':
                    bad.append(f"JavaScript error: {p['exceptionDetails'].get('text')}")
            want = notebook_math(sources[page]) if page in sources else 0
            if r['typeset'] < want: bad.append(f"{r['typeset']} formulas typeset, the notebook has {want}")
            if r['untypeset']: bad.append(f"{len(r['untypeset'])} formulas left untypeset: {r['untypeset'][:3]}")
            if r['raw']: bad.append(f"{len(r['raw'])} raw TeX spans in the text: {r['raw'][:3]}")
            if r['merror']: bad.append(f"{len(r['merror'])} formulas typeset as errors: {r['merror'][:3]}")
            if r['texcmd']: bad.append(f"{len(r['texcmd'])} formulas show a TeX command as text: {r['texcmd'][:3]}")
            for what, pat in LEFTOVERS:
                if m := re.search(pat, r['text']):
                    ctx = r['text'][max(0, m.start() - 40):m.end() + 40].replace('\n', ' ')
                    bad.append(f'{what} on the page: ...{ctx}...')
            if not r['h1'] or r['h1'] in stems or re.match(r'^\d\d[a-z]?_', r['h1']):
                bad.append(f"heading is a file stem or missing: {r['h1']!r}")
            if re.match(r'^\d\d[a-z]?_', r['title']) or r['title'].split(' - ')[0] in stems:
                bad.append(f"tab title is a file stem: {r['title']!r}")
            if len(r['text']) < 400: bad.append(f"page is (nearly) empty: {len(r['text'])} characters")
            if not r['footer']: bad.append('no previous/next link')
            if page in sources and re.match(r'(0\d|1[0-5])', sources[page].stem):   # a chapter: summary, exercises, folds
                ex = r['exercises']
                if not r['summary']: bad.append("no summary box ('What to take away')")
                if not ex or ex['n'] < 3: bad.append(f"fewer than 3 numbered exercises: {ex}")
                elif ex['folded'] < ex['n']: bad.append(f"{ex['n']} exercises but only {ex['folded']} folded answers")
            if not r['search']: bad.append('no search box')
            ids[page] = set(r['ids'])
            links += [(page, l) for l in r['links'] if l.startswith(base)]
            if shots and page in SHOT_PAGES:
                Path(shots).mkdir(parents=True, exist_ok=True)
                png = br.call('Page.captureScreenshot', format='png')['data']
                (Path(shots)/f'{page}.png').write_bytes(base64.b64decode(png))
            failures += [f'{page}: {b}' for b in bad]
            if verbose: print(f"{'ok  ' if not bad else 'FAIL'} {page:26s} formulas {r['typeset']:4d} "
                              f"(notebook {want:4d})  {r['h1'][:50]}")
        # The search box finds a word that every chapter uses.
        br.call('Page.navigate', url=base + 'index.html')
        br.wait_event('Page.loadEventFired')
        hits = br.evaluate(f"{SEARCH_JS}('entropy')")
        if not hits: failures.append("search: typing 'entropy' in the search box lists no result")
        elif verbose: print(f"search: 'entropy' lists {hits} results")
    finally:
        br.close(); srv.shutdown()
    for page, link in links:
        url, frag = urldefrag(link)
        target = Path(urlparse(url).path).stem or 'index'
        if urlparse(url).path.endswith('.html') and target not in ids:
            failures.append(f'{page}: link to a missing page: {link}')
        elif frag and target in ids and frag not in ids[target]:
            failures.append(f'{page}: link to a missing anchor: {link}')
    return failures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=str(ROOT/'docs'), help='the built site (default: docs/)')
    ap.add_argument('--shots', default=str(ROOT/'_build'/'screenshots'), help='where screenshots go')
    a = ap.parse_args(argv)
    failures = check(a.site, a.shots)
    for f in failures: print('FAIL', f)
    print(f"docs check: {'clean' if not failures else f'{len(failures)} problems'}; screenshots in {a.shots}")
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
