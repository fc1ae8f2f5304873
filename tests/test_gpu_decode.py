"""bench/gpu_decode.py's dry run (the CPU, tiny sizes): the GPU decoding section cannot rot before a GPU runs it."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_reports_every_decoder_with_graphs_on_and_off(tmp_path):
    (tmp_path / 'report.json').write_text('{"stale": true}')              # an earlier run's report is never kept
    r = subprocess.run([sys.executable, 'bench/gpu_decode.py', '--dry-run', '--out', str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / 'report.json').read_text())
    assert rep['dry_run'] is True and 'stale' not in rep
    rows = rep['sections']['decode']
    assert {(x['decoder'], x['graphs']) for x in rows} >= {('AR KV cache', True), ('AR KV cache', False),
                                                           ('block 4, 2/call', True), ('block 8, 1/call', False),
                                                           ('SEDD (one window), 4/call', True)}
    assert all(x['tokens_per_s'] > 0 and x['x_ar'] > 0 for x in rows)
    assert [(x['batch'], x['graphs']) for x in rep['sections']['sampler']] == [(2, True), (2, False), (4, True), (4, False)]
    assert all('own_work' in x for x in rep['sections']['sampler'])
    assert 'not GPU figures' in (tmp_path / 'report.md').read_text().splitlines()[0]


def test_without_a_gpu_the_real_run_refuses():
    import torch
    if torch.cuda.is_available(): return                                   # there it runs for real
    r = subprocess.run([sys.executable, 'bench/gpu_decode.py', '--out', '/nonexistent/never'], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'no CUDA GPU here' in r.stderr
