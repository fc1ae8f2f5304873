"`sedd_nb sample --animate`: the printed samples are those of the plain command, and the animation's last frame is the first of them."
import html, re

from PIL import Image

from conftest import cli


def printed(out: str) -> list:
    "The samples `sedd_nb sample` printed, each after a '---' line."
    return [s[:-1] for s in out.split('---\n')[1:]]


def last_frame(page: str) -> str:
    "The text of the last frame of an HTML animation, its wrapped rows joined, newlines shown as ↵."
    body = page.split('<div class="f"')[-1].split('</span>', 1)[1]
    return html.unescape(re.sub(r'<[^>]+>', '', body)).replace('\n', '').removesuffix('</div>')


def test_animate_html_ends_on_the_printed_sample(tiny_run, tmp_path):
    args = ('sample', '--ckpt', tiny_run, '--n', 2, '--steps', 8, '--seed', 3)
    code, plain, err = cli(*args)
    assert code == 0, err
    code, out, err = cli(*args, '--animate', tmp_path / 'a.html')
    assert code == 0, err
    assert printed(out) == printed(plain) and len(printed(out)) == 2
    assert 'the first sample, step by step' in err
    page = (tmp_path / 'a.html').read_text()
    assert page.count('<div class="f"') == 8 + 2                     # the limit draw, 8 steps, the denoising step
    assert last_frame(page) == printed(out)[0].replace('\n', '↵')


def test_animate_gif_one_frame_per_call(tiny_run, block_run, tmp_path):
    code, out, err = cli('sample', '--ckpt', tiny_run, '--n', 1, '--steps', 8, '--predictor', 'first_hitting',
                         '--animate', tmp_path / 'a.gif')
    assert code == 0, err
    with Image.open(tmp_path / 'a.gif') as im: assert im.n_frames == 8 + 1   # 4 reveals per call, then the sample
    code, out, err = cli('sample', '--ckpt', block_run, '--n', 1, '--steps', 1, '--predictor', 'first_hitting',
                         '--animate', tmp_path / 'b.gif')
    assert code == 0, err
    with Image.open(tmp_path / 'b.gif') as im: assert im.n_frames == 32 // 4 + 1    # 8 blocks of 4, one call each


def test_animate_bad_paths(tiny_run, tmp_path):
    code, out, err = cli('sample', '--ckpt', tiny_run, '--animate', tmp_path / 'a.mp4')
    assert code == 2 and '.gif or .html' in err
    code, out, err = cli('sample', '--ckpt', tiny_run, '--animate', tmp_path / 'no' / 'a.gif')
    assert code == 2 and 'does not exist' in err
    code, out, err = cli('sample', '--ckpt', tiny_run, '--length', 64, '--animate', tmp_path / 'a.gif')
    assert code == 2 and 'Pass --length 32' in err
