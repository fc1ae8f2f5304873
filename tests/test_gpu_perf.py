"""bench/gpu_perf.py's dry run (CPU, tiny sizes, Triton's interpreter): the GPU script cannot rot before a GPU runs it."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_reports_every_section(tmp_path):
    (tmp_path / 'report.json').write_text('{"stale": true}')              # an earlier run's report is never kept
    r = subprocess.run([sys.executable, 'bench/gpu_perf.py', '--dry-run', '--out', str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / 'report.json').read_text())
    assert rep['dry_run'] is True and 'stale' not in rep
    assert set(rep['sections']) == {'step', 'syncs', 'switches', 'kernel'}
    assert [row['batch'] for row in rep['sections']['step']] == [1, 2]
    assert all(row['ms'] > 0 and row['flops_per_token'] > 0 for row in rep['sections']['step'])
    assert set(rep['sections']['switches']) == {'rotary table', 'fused AdamW', 'foreach EMA', 'no host reads', 'fused loss'}
    assert '(exit 0)' in rep['sections']['kernel']
    assert 'not GPU figures' in (tmp_path / 'report.md').read_text().splitlines()[0]


def test_without_a_gpu_the_real_run_refuses():
    r = subprocess.run([sys.executable, 'bench/gpu_perf.py', '--out', '/nonexistent/never'], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'no CUDA GPU here' in r.stderr
