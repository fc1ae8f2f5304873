"`sedd_nb demo` in headless Chromium, as a user meets it: the page opens on a free port, a typed prompt is sampled from with the text appearing live and the prompt kept, typed text is measured in bits/char; clear errors for a missing run or a port in use."
import base64, os, socket, subprocess, sys, time
from pathlib import Path

import pytest

from conftest import cli

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def wait_until(fn, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if (v := fn()): return v
        time.sleep(0.25)
    raise TimeoutError(f'{what} within {timeout} s')


def test_demo_in_chromium(tiny_run):
    pytest.importorskip('gradio')
    from check_docs import Browser, find_chromium
    if not find_chromium(): pytest.skip("needs Debian's chromium (apt-get install chromium)")
    port = free_port()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'GRADIO_ANALYTICS_ENABLED': 'False'}
    app = subprocess.Popen([sys.executable, '-m', 'sedd_nb', 'demo', '--ckpt', str(tiny_run), '--port', str(port),
                            '--device', 'cpu'], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    browser = None
    try:
        def up():
            if app.poll() is not None: raise RuntimeError(f'the demo exited: {app.stdout.read()[-3000:]}')
            with socket.socket() as s: return s.connect_ex(('127.0.0.1', port)) == 0
        wait_until(up, 120, 'the demo did not open its port')
        browser = Browser(find_chromium(), 1200, 1100)
        browser.call('Page.navigate', url=f'http://127.0.0.1:{port}/')
        wait_until(lambda: browser.evaluate("!!document.querySelector('#run')"), 60, 'the page did not show its button')
        browser.evaluate("""(() => {
            const set = (id, v) => { const e = document.querySelector(`#${id} textarea, #${id} input`);
                                     e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); };
            set('prompt', 'def '); set('text', 'The return statement');
            document.querySelector('#run').click(); })()""")
        text = lambda: browser.evaluate("(document.querySelector('#sample pre') || {}).innerText || ''")
        wait_until(lambda: text() and '░' not in text(), 60, 'no finished sample appeared')
        sample = text()
        assert sample.startswith('def ') and len(sample) == 32, sample          # the prompt kept, seq_len characters
        assert 'step' in browser.evaluate("document.querySelector('#status').innerText")
        browser.evaluate("document.querySelector('#measure').click()")
        bits_text = lambda: browser.evaluate("document.querySelector('#bits').innerText")
        bits = wait_until(lambda: 'bits/' in bits_text() and bits_text(), 60, 'no bits/char')
        assert 'bits/char over 20 characters' in bits, bits
        shot = ROOT / '_build' / 'demo.png'
        shot.parent.mkdir(exist_ok=True)
        shot.write_bytes(base64.b64decode(browser.call('Page.captureScreenshot', format='png')['data']))
    finally:
        if browser: browser.close()
        app.terminate(); app.wait(20)


def test_demo_errors(tmp_path, tiny_run):
    pytest.importorskip('gradio')
    code, out, err = cli('demo', '--ckpt', tmp_path / 'no_run', '--port', free_port())
    assert code == 2 and 'no_run' in err
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0)); busy.listen()
        code, out, err = cli('demo', '--ckpt', tiny_run, '--port', busy.getsockname()[1])
    assert code == 2 and 'is in use' in err
