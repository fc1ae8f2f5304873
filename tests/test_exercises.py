"""The exercises that close the chapters. Every chapter 00-15 ends with a summary box and three to six numbered
exercises, each followed by its folded answer; every grader of `sedd_nb.exercises` is called by a solution cell of
its chapter, so `nbdev-test` runs each solution against its grader. The graders' own tests (the reference accepted,
named mistakes rejected with a message that names them) are cells of `nbs/16_exercises.ipynb`.
"""
import json, re
from pathlib import Path
import pytest
from sedd_nb.exercises import GRADERS

NBS = Path(__file__).resolve().parents[1]/'nbs'
CHAPTERS = sorted(p for p in NBS.glob('[01][0-9]*.ipynb') if p.stem[:2] <= '15')


def closing_cells(nb_path):
    "(kind, source) of the cells from the chapter's '## Summary' on."
    cells = json.loads(nb_path.read_text())['cells']
    start = next((i for i, c in enumerate(cells)
                  if c['cell_type'] == 'markdown' and ''.join(c['source']).startswith('## Summary')), None)
    assert start is not None, f'{nb_path.name} has no "## Summary" cell: end the chapter with a summary and exercises'
    return [(c['cell_type'], ''.join(c['source'])) for c in cells[start:]]


def test_every_chapter_is_checked():
    assert len(CHAPTERS) == 22, [p.name for p in CHAPTERS]      # 00-15, with 06b, 09a, 09b, 09c, 10a and 14a


@pytest.mark.parametrize('nb', CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_and_exercises(nb):
    cells = closing_cells(nb)
    box = cells[0][1]
    n_points = len(re.findall(r'^\* ', box, flags=re.M))
    assert '::: {.callout-note}' in box and 3 <= n_points <= 5, f'{nb.name}: the summary is a box of 3-5 points'
    heads = [(i, s) for i, (kind, s) in enumerate(cells) if kind == 'markdown' and re.match(r'### \d+\. ', s)]
    assert 3 <= len(heads) <= 6, f'{nb.name}: {len(heads)} exercises, expected 3 to 6'
    assert [int(re.match(r'### (\d+)\.', s).group(1)) for _, s in heads] == list(range(1, len(heads) + 1))
    for i, s in heads:
        title = s.splitlines()[0]
        kind, answer = cells[i + 1]
        folded = (kind == 'markdown' and 'collapse="true"' in answer) or (kind == 'code' and '#| code-fold: true' in answer)
        assert folded, f'{nb.name}: {title!r} is not followed by a folded answer'
        if '(code, graded)' in title:
            assert re.search(r'grade_\w+\(\w+\)\.assert_ok\(\)', answer), f'{nb.name}: {title!r} has no graded solution'


def test_every_grader_is_run_by_a_solution_in_its_chapter():
    assert sum(map(len, GRADERS.values())) >= 12
    for chapter, graders in GRADERS.items():
        nb = next(p for p in CHAPTERS if p.stem.startswith(chapter + '_'))
        code = '\n'.join(s for kind, s in closing_cells(nb) if kind == 'code')
        for g in graders:
            assert re.search(rf'{g.__name__}\(\w+\)\.assert_ok\(\)', code), f'{nb.name} runs no solution against {g.__name__}'
