"""The first-GPU script's dry run (CPU, tiny sizes, Triton's interpreter), so the script cannot rot before a GPU runs it."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_passes_every_step_and_reports_what_each_figure_is_compared_with(tmp_path):
    r = subprocess.run([sys.executable, 'bench/gpu_first_run.py', '--dry-run', '--out', str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / 'report.json').read_text())
    assert rep['dry_run'] is True
    bad = {k: v.get('error', v['status']) for k, v in rep['steps'].items() if v['status'] != 'ok'}
    assert not bad, bad
    md = (tmp_path / 'report.md').read_text()
    assert md.count('Compared with:') == len(rep['steps']) == 6
    assert 'not GPU figures' in md.splitlines()[0]                # a dry run never passes for GPU figures
    corr = rep['steps']['correctness']['figures']
    assert corr['checks_passed'] and float(corr['hub_gpu_vs_cpu_max_abs']) == 0.0
    tr = rep['steps']['train']['figures']
    assert tr['fused']['tokens_per_s'] > 0 and tr['unfused']['tokens_per_s'] > 0
    assert rep['steps']['resume']['figures']['bitwise'] is True  # on the CPU a stopped and resumed run is exact
