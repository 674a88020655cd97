"""Bad set-up flags end like argparse's own errors, not in a traceback.

From the command line a lesson prints its usage and one line
``<prog>: error: --flag: what was expected, what was given`` and exits with
status 2. Stepped through as a notebook (``__main__`` without ``__file__``)
the same check raises an exception instead, which the notebook shows.
"""
import os
import sys

import pytest

from conftest import run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.backend import cuda_available
from tinygen.utils import run as run_utils
from tinygen.utils.run import lesson_parser, parse_args

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VAE = os.path.join(ROOT, "lessons", "07_vae.py")      # an autoencoder lesson: IDX datasets only
WGAN = os.path.join(ROOT, "lessons", "13_wgan_gp.py")  # takes a folder of images too

BAD = [
    pytest.param(WGAN, ["--device", "cuda"], "--device", marks=pytest.mark.skipif(
        cuda_available(), reason="a GPU is usable here, so --device cuda is a good flag"), id="cuda-without-gpu"),
    pytest.param(WGAN, ["--dataset", "folder"], "--data-dir", id="folder-without-data-dir"),
    pytest.param(WGAN, ["--dataset", "folder", "--data-dir", "no/such/folder"], "--data-dir", id="missing-folder"),
    pytest.param(VAE, ["--data-dir", "no/such/folder"], "--data-dir", id="missing-idx-folder"),
    pytest.param(WGAN, ["--image-size", "32"], "--image-size", id="image-size-on-fashion-mnist"),
    pytest.param(VAE, ["--dataset", "mnist", "--image-size", "64"], "--image-size", id="image-size-on-mnist"),
    pytest.param(VAE, ["--dataset", "folder"], "--dataset", id="folder-on-an-ae-lesson"),
    pytest.param(VAE, ["--steps", "0"], "--steps", id="zero-steps"),
]


@pytest.mark.parametrize("lesson, flags, flag", BAD)
def test_bad_flag_is_one_argparse_error_line(lesson, flags, flag, data_env, tmp_path):
    r = run([lesson, "--quick", "--out", str(tmp_path / "out")] + flags, data_env, tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("usage: "), r.stderr
    errors = [line for line in lines if "error:" in line]
    assert errors == [lines[-1]], r.stderr                     # one error line, the last
    prog = os.path.basename(lesson)
    assert lines[-1].startswith(f"{prog}: error: ") and flag in lines[-1], lines[-1]
    assert not (tmp_path / "out").exists()                      # nothing was started


def test_messages_say_what_was_expected_and_given(capsys):
    parser = lesson_parser("t", steps=10)
    for argv, message in (
            (["--image-size", "32"], "--image-size: expected 28 (or no --image-size) for --dataset "
                                     "fashion-mnist, whose images are 28x28, got 32"),
            (["--dataset", "folder"], "--data-dir: expected a folder of JPEG/PNG images with --dataset folder, "
                                      "got none"),
            (["--data-dir", "nowhere"], "--data-dir: expected a folder, got 'nowhere', which does not exist"),
            (["--dataset", "folder", "--data-dir", ".", "--image-size", "0"],
             "--image-size: expected an integer >= 1, got 0")):
        with pytest.raises(SystemExit) as info:
            parse_args(parser, argv)
        assert info.value.code == 2
        assert message in capsys.readouterr().err
    if not cuda_available():
        with pytest.raises(SystemExit):
            parse_args(parser, ["--device", "cuda"])
        assert "--device: expected cpu or a usable GPU, got cuda" in capsys.readouterr().err
    # Good flags pass untouched.
    args = parse_args(parser, ["--dataset", "folder", "--data-dir", ".", "--image-size", "64"])
    assert (args.dataset, args.data_dir, args.image_size) == ("folder", ".", 64)
    assert parse_args(parser, ["--image-size", "28"]).image_size == 28


def test_in_a_notebook_the_exception_is_raised(monkeypatch):
    # A notebook or an editor's cells: __main__ has no __file__. Exiting there would
    # only print "SystemExit: 2", so the check raises and the notebook shows why.
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    assert run_utils.in_notebook()
    parser = lesson_parser("t", steps=10)
    with pytest.raises(ValueError, match="--image-size: expected 28"):
        parse_args(parser, ["--image-size", "32"])
    with pytest.raises(FileNotFoundError, match="--data-dir: expected a folder, got 'nowhere'"):
        parse_args(parser, ["--data-dir", "nowhere"])
    with pytest.raises(ValueError, match="--steps: expected an integer >= 1, got 0"):
        parse_args(parser, ["--steps", "0"])
    if not cuda_available():
        with pytest.raises(RuntimeError, match="--device: expected cpu or a usable GPU"):
            parse_args(parser, ["--device", "cuda"])
