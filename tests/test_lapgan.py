"""tinygen.utils.lapgan, lesson 20's plumbing: the level-by-level figure (nearest enlargement,
gains, clipping, errors), the pyramid and chain figures, and the flags with --out per --model."""
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.utils import lapgan, viz
from tinygen.utils.run import lesson_parser, parse_args


def test_save_level_rows_enlarges_by_repeating_and_applies_gains(tmp_path, monkeypatch):
    seen = {}

    def fake_rows(rows, path, labels=None, value_range=(0, 1), title=None):
        seen.update(rows=rows, labels=labels, value_range=value_range, title=title)
        return path

    monkeypatch.setattr(viz, "save_image_rows", fake_rows)
    coarse = np.arange(2 * 7 * 7, dtype=np.float32).reshape(2, 1, 7, 7) / 100 - 0.5
    fine = np.full((2, 1, 28, 28), 0.3, dtype=np.float32)
    lapgan.save_level_rows([tg.tensor(coarse), fine], tmp_path / "x.png", ["coarse", "fine x4"], gains=[1, 4],
                           title="t")
    a, b = seen["rows"]
    assert a.shape == b.shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(a[:, :, ::4, ::4], coarse)                    # each pixel a 4x4 block
    np.testing.assert_array_equal(a[:, :, 3::4, 3::4], coarse)
    np.testing.assert_array_equal(b, 1.0)                                        # 0.3 x 4, clipped to 1
    assert seen["labels"] == ["coarse", "fine x4"] and seen["value_range"] == (-1, 1) and seen["title"] == "t"


def test_save_level_rows_refuses_what_it_cannot_draw(tmp_path):
    x28, x7 = np.zeros((2, 1, 28, 28), np.float32), np.zeros((2, 1, 7, 7), np.float32)
    with pytest.raises(ValueError, match="one per row"):
        lapgan.save_level_rows([x28, x7], tmp_path / "x.png", ["one"])
    with pytest.raises(ValueError, match="same"):
        lapgan.save_level_rows([x28, np.zeros((3, 1, 7, 7), np.float32)], tmp_path / "x.png", ["a", "b"])
    with pytest.raises(ValueError, match="divides"):
        lapgan.save_level_rows([x28, np.zeros((2, 1, 5, 5), np.float32)], tmp_path / "x.png", ["a", "b"])


class StubChain(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.modes = []

    def levels(self, z2, z1, z0):
        self.modes.append(self.training)
        n = z2.shape[0]
        return ([tg.zeros(n, 1, 7, 7), tg.zeros(n, 1, 14, 14), tg.zeros(n, 1, 28, 28)],
                [tg.zeros(n, 1, 14, 14), tg.zeros(n, 1, 28, 28)])


def test_pyramid_and_chain_figures_are_written(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    gauss = [x, x[:, :, ::2, ::2], x[:, :, ::4, ::4]]
    bands = [x * 0.1, gauss[1] * 0.1]
    assert lapgan.save_pyramid(gauss, bands, x, tmp_path / "p.png").stat().st_size > 0
    chain = StubChain()
    z = (tg.randn(3, 4), tg.randn(3, 1, 14, 14), tg.randn(3, 1, 28, 28))
    assert lapgan.save_chain(chain, z, tmp_path / "c.png").stat().st_size > 0
    assert chain.modes == [False] and chain.training                          # eval while drawing, then back


def test_flags_and_the_out_folder_per_model():
    def parse(argv):
        parser = lesson_parser("t", steps=None, out="runs/20_lapgan")
        lapgan.add_lapgan_flags(parser, argv)
        return parse_args(parser, argv)

    args = parse([])
    assert (args.model, args.out, args.width, args.coarse_width, args.single_width) == (
        "lapgan", "runs/20_lapgan", 32, 256, 30)
    assert parse(["--model", "single"]).out.endswith("20_lapgan_single")
    assert parse(["--model", "single", "--out", "elsewhere"]).out == "elsewhere"
    with pytest.raises(SystemExit):
        parse(["--width", "0"])
