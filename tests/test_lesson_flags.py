"""Bad set-up flags end like argparse's own errors, not in a traceback.

From the command line a lesson prints its usage and one line
``<prog>: error: --flag: what was expected, what was given`` and exits with
status 2. Stepped through as a notebook (``__main__`` without ``__file__``)
the same check raises an exception instead, which the notebook shows.

A flag's own range is checked by its argparse ``type=`` (``tinygen.utils.run``'s
``positive_int``, ``positive_float``, ..., which also refuse NaN and
infinities); every numeric flag of every lesson has one. A checkpoint that
``--resume`` cannot use and a loss that turns NaN end in one line too.
"""
import argparse
import ast
import glob
import json
import math
import os
import sys

import pytest

from conftest import run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.backend import cuda_available
from tinygen.utils import run as run_utils
from tinygen.utils.run import (beta, bounded, int_list, lesson_parser, nonnegative_float, nonnegative_int, open_unit,
                                parse_args, positive_float, positive_int, probability)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VAE = os.path.join(ROOT, "lessons", "07_vae.py")      # an autoencoder lesson: IDX datasets only
WGAN = os.path.join(ROOT, "lessons", "16_wgan_gp.py")  # takes a folder of images too

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
    pytest.param(WGAN, ["--export-samples", "-5"], "argument --export-samples: expected an integer >= 0, got -5",
                 id="negative-export-samples"),
    pytest.param(WGAN, ["--lambda-gp", "nan"], "argument --lambda-gp: expected a finite number >= 0, got nan",
                 id="nan-lambda-gp"),
    pytest.param(WGAN, ["--lr", "inf"], "argument --lr: expected a finite number > 0, got inf", id="infinite-lr"),
    pytest.param(WGAN, ["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1", id="negative-seed"),
    pytest.param(WGAN, ["--resume"], "--resume: expected a checkpoint (.npz) in --out", id="resume-without-checkpoint"),
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


# ------------------------------------------------------------------ the flag types
TYPES = [  # (type, accepted text -> value, refused texts)
    (positive_int, {"1": 1, "250": 250}, ["0", "-3", "1.5", "inf", "nan", "x", ""]),
    (nonnegative_int, {"0": 0, "7": 7}, ["-1", "2.0", "nan"]),
    (positive_float, {"1e-4": 1e-4, "3": 3.0}, ["0", "-0.0", "-1e-9", "inf", "nan", "-inf"]),
    (nonnegative_float, {"0": 0.0, "10": 10.0}, ["-0.5", "inf", "nan"]),
    (probability, {"0": 0.0, "1": 1.0, "0.5": 0.5}, ["-0.1", "1.01", "nan"]),
    (open_unit, {"0.05": 0.05}, ["0", "1", "nan", "inf"]),
    (beta, {"0": 0.0, "0.9": 0.9}, ["1", "-0.1", "nan"]),
    (bounded(float, 0, 4, open_low=True, open_high=True), {"3.99": 3.99}, ["0", "4", "inf"]),
    (bounded(int, 3, 783), {"3": 3, "783": 783}, ["2", "784"]),
    (int_list(10), {"10,100": [10, 100]}, ["5,100", "10,", "10,x", ""]),
]


@pytest.mark.parametrize("kind, good, bad", TYPES, ids=lambda v: getattr(v, "__name__", None))
def test_each_flag_type_takes_its_range_and_refuses_the_rest(kind, good, bad):
    for text, value in good.items():
        assert kind(text) == value and type(kind(text)) is type(value), text
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            kind(text)


def test_flag_type_messages_say_what_was_expected_and_given():
    for kind, text, message in (
            (positive_int, "0", "expected an integer >= 1, got 0"),
            (positive_float, "nan", "expected a finite number > 0, got nan"),
            (nonnegative_float, "inf", "expected a finite number >= 0, got inf"),
            (beta, "1", "expected a finite number in [0, 1), got 1"),
            (open_unit, "0", "expected a finite number in (0, 1), got 0"),
            (bounded(int, 3, 783), "2", "expected an integer in [3, 783], got 2"),
            (int_list(10), "5,100", "expected comma-separated integers >= 10, got 5,100")):
        with pytest.raises(argparse.ArgumentTypeError) as info:
            kind(text)
        assert str(info.value) == message


def _numeric_flags(path):
    """(line, flag, type source) of every add_argument with a numeric default or a type=, in one file."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            kw = {k.arg: k.value for k in node.keywords}
            numeric = "default" in kw and isinstance(kw["default"], (ast.Constant, ast.List)) and \
                not isinstance(getattr(kw["default"], "value", 0), (str, bool, type(None)))
            if "type" in kw or (numeric and kw.get("action") is None and "choices" not in kw):
                yield node.lineno, node.args[0].value, ast.unparse(kw["type"]) if "type" in kw else None


CHECKING = {"positive_int", "nonnegative_int", "positive_float", "nonnegative_float", "probability", "open_unit",
            "beta"}


def test_every_numeric_flag_of_every_lesson_has_a_checking_type():
    files = sorted(glob.glob(os.path.join(ROOT, "lessons", "*.py"))) + [
        os.path.join(ROOT, "tinygen", "utils", name) for name in ("run.py", "gan.py", "toy.py")]
    found, unchecked = 0, []
    for path in files:
        for line, flag, kind in _numeric_flags(path):
            found += 1
            if not (kind in CHECKING or (kind or "").startswith(("bounded(", "int_list("))):
                unchecked.append(f"{os.path.basename(path)}:{line} {flag} type={kind}")
    assert not unchecked, unchecked
    assert found > 80                                         # the walk saw the lessons' flags


def test_in_a_notebook_a_bad_type_raises_value_error(monkeypatch):
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    parser = lesson_parser("t", steps=10)
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    with pytest.raises(ValueError, match=r"^argument --lr: expected a finite number > 0, got nan$"):
        parse_args(parser, ["--lr", "nan"])


# ------------------------------------------------------------------ a run that cannot go on
VANILLA = os.path.join(ROOT, "lessons", "11_vanilla_gan.py")   # the quickest GAN lesson


def test_a_checkpoint_of_other_flags_or_a_truncated_one_is_one_line(data_env, tmp_path):
    out = tmp_path / "out"
    assert run([VANILLA, "--quick", "--out", str(out)], data_env, tmp_path).returncode == 0
    ckpt = out / "train.npz"
    for flags, what in ((["--z-dim", "8"], "models['G']: checkpoint does not match"),
                        (["--truncate"], "is not a readable tinygen checkpoint")):
        if flags == ["--truncate"]:
            ckpt.write_bytes(ckpt.read_bytes()[:1000])
            flags = []
        r = run([VANILLA, "--quick", "--out", str(out), "--resume", "--steps", "8", *flags], data_env, tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith(f"11_vanilla_gan.py: error: --resume: cannot continue [train] from {ckpt}: "), last
        assert what in last
        assert [json.loads(x)["step"] for x in open(out / "train.jsonl")] == list(range(1, 7))   # untouched


def test_a_lesson_whose_loss_turns_nan_stops_with_one_line(data_env, tmp_path):
    # Adam at lr 1e30 overflows float32 within a few steps; checkpoints after every step.
    out = tmp_path / "out"
    r = run([VANILLA, "--quick", "--lr", "1e30", "--checkpoint-every", "1", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    logged = [json.loads(x) for x in open(out / "train.jsonl")] if (out / "train.jsonl").exists() else []
    n = len(logged)                                           # the good steps, all finite
    assert [x["step"] for x in logged] == list(range(1, n + 1)) and n < 6
    assert all(math.isfinite(v) for x in logged for v in x.values())
    kept = (f"The last good checkpoint (step {n} of 6) is kept in {out / 'train.npz'}" if n else
            "No checkpoint of this run was written yet (the first is due at step 1)")
    assert last.startswith(f"[train] step {n + 1}: ") and last.endswith(f"; stopping. {kept}"), last
    assert not (out / "metrics.json").exists()


def test_a_finished_run_resumed_reports_the_training_seconds_it_had(data_env, tmp_path):
    # fit keeps the training seconds in the checkpoint: a resumed lesson reports the whole run's,
    # not the (near zero) seconds of the call that only loaded it.
    ebgan = os.path.join(ROOT, "lessons", "17_ebgan.py")
    out = tmp_path / "out"
    assert run([ebgan, "--quick", "--out", str(out)], data_env, tmp_path).returncode == 0
    first = json.load(open(out / "metrics.json"))
    r = run([ebgan, "--quick", "--out", str(out), "--resume"], data_env, tmp_path)
    assert r.returncode == 0 and "[no_pt] resumed at step 4 (finished)" in r.stdout, r.stderr[-2000:]
    again = json.load(open(out / "metrics.json"))
    assert again["train_seconds"] == first["train_seconds"]
    assert [again["runs"][k]["train_seconds"] for k in ("EBGAN-PT", "EBGAN")] == \
        [first["runs"][k]["train_seconds"] for k in ("EBGAN-PT", "EBGAN")]
