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


def test_time_budget_shares_what_is_left_in_proportion_to_the_default_limits():
    sys.path.insert(0, str(ROOT / 'bench'))
    import gpu_first_run as g
    todo = list(g.STEPS)
    shares = [g.step_limit(n, todo, False, 540.) for n in todo]           # nothing used yet: shares of 540 s
    assert abs(sum(shares) - 540.) < 1e-9 and shares[4] / shares[3] == g.LIMITS['sampler'] / g.LIMITS['train']
    # a step that finished early leaves its time to the later ones: the last step gets all that is left
    assert g.step_limit('resume', ['resume'], False, 300.) == 300.
    assert g.step_limit('train', todo, False) == g.LIMITS['train'] and g.step_limit('train', todo, True) == 2 * g.LIMITS['train']


def test_train_profile_dry_run_writes_its_table(tmp_path):
    r = subprocess.run([sys.executable, 'bench/train_profile.py', '--dry-run', '--out', str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    md = (tmp_path / 'profile.md').read_text()
    assert md.count('| 2 | True |') == 1 and md.count('| 2 | False |') == 1 and 'fused / unfused time' in md


def test_a_step_without_a_result_in_this_run_never_shows_an_earlier_one(tmp_path):
    (tmp_path / 'env.json').write_text(json.dumps({'status': 'ok', 'figures': {'gpu': 'from an earlier run'}, 'seconds': 1}))
    (tmp_path / 'train.json').write_text(json.dumps({'status': 'ok', 'figures': {}, 'seconds': 1}))
    r = subprocess.run([sys.executable, 'bench/gpu_first_run.py', '--dry-run', '--out', str(tmp_path), '--only', 'env',
                        '--time-budget', '0.5'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / 'report.json').read_text())
    assert rep['steps']['env']['status'] == 'timed out' and not (tmp_path / 'env.json').exists()
    assert rep['steps']['train']['status'] == 'not run'                # another run's file is not this run's result
    assert 'earlier run' not in (tmp_path / 'report.md').read_text()
