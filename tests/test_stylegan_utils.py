"""The StyleGAN lesson's workbench (tinygen/utils/stylegan.py), on hand-built inputs whose answers are
known in closed form: the row-wise slerp, the perceptual path length of a linear generator read by a
linear classifier, the layer groups, the noise statistics, the --compare flag type and the figures."""
import argparse
import json

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.utils.stylegan import (add_stylegan_flags, check_stylegan_args, finished_samples_run, layer_groups,
                                    noise_statistics, path_length, save_comparison, save_mixing_grid,
                                    save_noise_figure, slerp_rows)


# ---------------------------------------------------------------- slerp_rows
def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _angle(u, v):
    return np.arccos(np.clip(np.sum(_unit(u) * _unit(v), axis=1), -1, 1))


def test_slerp_rows_ends_norm_and_constant_angular_speed():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 5)) * 3, rng.standard_normal((6, 5)) * 0.5
    assert np.allclose(slerp_rows(a, b, np.zeros(6)), _unit(a), atol=1e-12)
    assert np.allclose(slerp_rows(a, b, np.ones((6, 1))), _unit(b), atol=1e-12)
    t = np.array([0.0, 0.1, 0.25, 0.5, 0.8, 1.0])
    out = slerp_rows(a, b, t)
    assert out.dtype == np.float64 and out.shape == (6, 5)
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-12)
    omega = _angle(a, b)
    assert np.allclose(_angle(a, out), t * omega, atol=1e-9)            # t of the way along the great circle
    assert np.allclose(_angle(out, b), (1 - t) * omega, atol=1e-9)      # ... on the short arc toward b
    # In the plane of a and b: no component outside span(a, b).
    for o, u, v in zip(out, a, b):
        q, _ = np.linalg.qr(np.stack([u, v], axis=1))
        assert np.allclose(q @ (q.T @ o), o, atol=1e-12)
    # Directions only: scaling a row changes nothing; float32 input still gives float64.
    assert np.allclose(slerp_rows(7 * a, b, t.reshape(-1, 1)), out, atol=1e-12)
    assert slerp_rows(a.astype(np.float32), b.astype(np.float32), t).dtype == np.float64


def test_slerp_rows_by_hand_in_the_plane_and_for_equal_rows():
    a = np.array([[2.0, 0.0, 0.0]])
    b = np.array([[0.0, 0.0, 5.0]])                   # 90 degrees apart
    assert np.allclose(slerp_rows(a, b, [1 / 3]), [[np.cos(np.pi / 6), 0, np.sin(np.pi / 6)]], atol=1e-12)
    assert np.allclose(slerp_rows(a, b, [0.5]), [[2 ** -0.5, 0, 2 ** -0.5]], atol=1e-12)
    assert np.allclose(slerp_rows(a, 3 * a, [0.5]), [[1.0, 0.0, 0.0]], atol=1e-12)   # no angle: stays at a


# ---------------------------------------------------------------- path_length, with linear stubs
class Identity(nn.Module):
    def forward(self, x):
        return x


class LinearG(nn.Module):
    """mapping: identity; synthesis(ws, noise): scale * w A as a 28x28 image (+ noise_gain * noise[0])."""

    def __init__(self, A, scale=0.5, noise_gain=0.0):
        super().__init__()
        self.mapping, self.A, self.scale, self.noise_gain = Identity(), A.astype(np.float32), scale, noise_gain
        self.calls = []

    def synthesis(self, ws, noise=None):
        assert len(ws) == 2 and all(w is ws[0] for w in ws) and noise is not None and len(noise) == 2
        self.calls.append(ws[0].numpy().copy())
        img = self.scale * ws[0].numpy() @ self.A
        img = img.reshape(-1, 1, 28, 28) + self.noise_gain * noise[0].numpy()
        assert np.abs(img).max() < 1, "the stub must stay inside the clamp"
        return tg.tensor(img.astype(np.float32))


class LinearClassifier(nn.Module):
    """features(x) = flatten(x) B, head(h) = zeros (N, 10): what probs_and_features calls."""

    def __init__(self, B):
        super().__init__()
        self.B = B.astype(np.float32)

    def features(self, x):
        return tg.tensor(x.numpy().reshape(len(x), -1) @ self.B)

    def head(self, h):
        return tg.zeros(h.shape[0], 10)


def _orthonormal_rows(rng, k, d):
    q, _ = np.linalg.qr(rng.standard_normal((d, k)))
    return q.T                                          # (k, d), q.T q.T^T = I_k


def _trimmed_mean(d):
    """The mean of the 1st to 99th percentiles of 200 values, by hand: np.percentile(d, 1) lies between
    the 2nd and 3rd smallest (rank 1.99) and np.percentile(d, 99) between the 198th and 199th (rank 197.01),
    so exactly the sorted values [2:198] are kept."""
    assert len(d) == 200
    return np.sort(d)[2:198].mean()


N_PAIRS, ZD = 200, 8


def _draws(seed):
    """path_length's first draws, in its order: z (2n, z_dim), then t (n, 1)."""
    tg.manual_seed(seed)
    z = tg.randn(2 * N_PAIRS, ZD).numpy().astype(np.float64)
    t = tg.rand(N_PAIRS, 1).numpy().astype(np.float64)
    return z[:N_PAIRS], z[N_PAIRS:], t


def test_path_length_in_w_of_a_linear_generator_is_the_squared_feature_distance_of_the_ends():
    rng = np.random.default_rng(1)
    A = _orthonormal_rows(rng, ZD, 784)                 # w (8,) -> image (784,)
    B = rng.standard_normal((784, 16)) * 0.3            # a (non-isometric) linear classifier
    G, clf = LinearG(A), LinearClassifier(B).eval()
    w0, w1, t = _draws(5)
    # d(g(lerp(t)), g(lerp(t + eps))) / eps^2 = |0.5 (w1 - w0) A B|^2 for every t (a straight line, linear g).
    d = np.sum(((0.5 * (w1 - w0)) @ A @ B) ** 2, axis=1)
    want = _trimmed_mean(d)
    assert abs(d.mean() - want) > 0.01 * want           # the 1 % / 99 % filter matters for these draws
    for eps in (1e-2, 1e-3):
        tg.manual_seed(5)
        G.calls = []
        got = path_length(G, [28], ZD, "w", N_PAIRS, eps=eps, classifier=clf)
        assert got == pytest.approx(want, rel=2e-3), (eps, got, want)
    # Both ends were drawn in one batch, at t and t + eps along w0 -> w1.
    assert len(G.calls) == 2
    assert np.allclose(G.calls[0], w0 + t * (w1 - w0), atol=1e-5)
    assert np.allclose(G.calls[1] - G.calls[0], 1e-3 * (w1 - w0), atol=2e-6)
    # In batches of 100 each batch draws z, t, then its two noise images: the pairs are those draws.
    tg.manual_seed(5)
    d = []
    for _ in range(2):
        z = tg.randn(200, ZD).numpy().astype(np.float64)
        tg.rand(100, 1), tg.randn(100, 1, 28, 28), tg.randn(100, 1, 28, 28)
        d.append(np.sum(((0.5 * (z[100:] - z[:100])) @ A @ B) ** 2, axis=1))
    want = _trimmed_mean(np.concatenate(d))
    tg.manual_seed(5)
    assert path_length(G, [28], ZD, "w", N_PAIRS, eps=1e-2, classifier=clf, batch_size=100) == \
        pytest.approx(want, rel=2e-3)


def test_path_length_default_eps_is_eps_squared():
    rng = np.random.default_rng(2)
    A = _orthonormal_rows(rng, ZD, 784)
    B = rng.standard_normal((784, 16)) * 0.3
    G, clf = LinearG(A), LinearClassifier(B).eval()
    w0, w1, _ = _draws(9)
    want = _trimmed_mean(np.sum(((0.5 * (w1 - w0)) @ A @ B) ** 2, axis=1))
    tg.manual_seed(9)
    got = path_length(G, [28], ZD, "w", N_PAIRS, classifier=clf)      # eps = 1e-4 in float32: a few % of rounding
    assert got == pytest.approx(want, rel=0.05)


def test_path_length_in_z_is_the_squared_angle_of_the_slerp():
    rng = np.random.default_rng(3)
    c = 1.7
    A = _orthonormal_rows(rng, ZD, 784)
    R = np.linalg.qr(rng.standard_normal((ZD, ZD)))[0]
    B = c * A.T @ R                                     # A B = c R: c times an isometry of R^8
    G, clf = LinearG(A), LinearClassifier(B).eval()
    z0, z1, _ = _draws(7)
    omega = _angle(z0, z1)
    # The slerp moves on the unit sphere at angular speed omega: |u(t + eps) - u(t)| ~ eps omega, so
    # d / eps^2 = |0.5 c (u(t + eps) - u(t))|^2 / eps^2 ~ (0.5 c omega)^2 whatever t.
    want = _trimmed_mean((0.5 * c * omega) ** 2)
    tg.manual_seed(7)
    got = path_length(G, [28], ZD, "z", N_PAIRS, eps=1e-2, classifier=clf)
    assert got == pytest.approx(want, rel=2e-3), (got, want)
    # A lerp in Z would measure |z1 - z0|, not the angle.
    assert abs(_trimmed_mean(0.25 * c ** 2 * np.sum((z1 - z0) ** 2, axis=1)) - want) > 0.5 * want
    # The first end is the slerp at t itself, on the unit sphere.
    w = G.calls[0]
    assert np.allclose(np.linalg.norm(w, axis=1), 1, atol=1e-5)
    assert np.allclose(_angle(z0, w), _draws(7)[2][:, 0] * omega, atol=1e-4)


def test_path_length_both_ends_share_their_noise():
    rng = np.random.default_rng(4)
    A = _orthonormal_rows(rng, ZD, 784)
    B = rng.standard_normal((784, 16)) * 0.3
    clf = LinearClassifier(B).eval()
    got = {}
    for gain in (0.0, 0.05):
        tg.manual_seed(11)
        got[gain] = path_length(LinearG(A, scale=0.3, noise_gain=gain), [28], ZD, "w", N_PAIRS, eps=1e-2,
                                classifier=clf)
    # The noise adds the same image at both ends of a piece, so it cancels in the difference.
    assert got[0.05] == pytest.approx(got[0.0], rel=1e-3), got


def test_path_length_errors():
    G, clf = LinearG(np.zeros((ZD, 784))), LinearClassifier(np.zeros((784, 4))).eval()
    for kwargs, word in ((dict(space="x"), "space"), (dict(n=0), "n"), (dict(n=2.5), "n"),
                         (dict(eps=0.0), "eps"), (dict(eps=-1e-4), "eps")):
        call = {"space": "w", "n": 4, "eps": 1e-4, **kwargs}
        with pytest.raises(ValueError, match=word):
            path_length(G, [28], ZD, call["space"], call["n"], eps=call["eps"], classifier=clf)


# ---------------------------------------------------------------- layer_groups
def test_layer_groups_by_resolution():
    assert layer_groups([7, 14, 28]) == {"coarse (7x7)": {0, 1}, "middle (14x14)": {2, 3}, "fine (28x28)": {4, 5}}
    assert list(layer_groups([7, 14, 28])) == ["coarse (7x7)", "middle (14x14)", "fine (28x28)"]
    assert layer_groups([4, 8, 16, 32, 64]) == {"coarse (4x4-8x8)": {0, 1, 2, 3},
                                                "middle (16x16-32x32)": {4, 5, 6, 7},
                                                "fine (64x64)": {8, 9}}
    assert layer_groups([7]) == {"coarse (7x7)": {0, 1}}
    assert layer_groups([7, 14]) == {"coarse (7x7)": {0, 1}, "middle (14x14)": {2, 3}}
    with pytest.raises(ValueError, match="sizes"):
        layer_groups([])


# ---------------------------------------------------------------- noise_statistics
def _noise_case():
    """K = 2 w's, M = 3 noise draws of 1x3x4 images. Mean image m = x^2 + 3 y, so np.gradient gives
    gx = [1, 2, 4, 5] in every row (one-sided at the borders, central inside) and gy = 3 everywhere.
    w 1: per-pixel std 0.5 |grad m| + 0.1 (a linear function of the edges: correlation 1);
    w 2: identical draws, std 0 (correlation defined as 0).
    Draws m - s sqrt(1.5), m, m + s sqrt(1.5) have mean m and population std s."""
    x, y = np.meshgrid(np.arange(4.0), np.arange(3.0))
    m = x ** 2 + 3 * y
    edges = np.sqrt(np.array([1.0, 2, 4, 5]) ** 2 + 9)[None].repeat(3, 0)
    s1, s2 = 0.5 * edges + 0.1, np.zeros((3, 4))
    k = np.sqrt(1.5)
    draws = np.stack([np.stack([m - k * s, m, m + k * s]) for s in (s1, s2)])[:, :, None]   # (2, 3, 1, 3, 4)
    across = np.stack([m - k, m, m + k])[:, None]                                            # std 1 per pixel
    return draws, across, s1, s2


def test_noise_statistics_hand_computed():
    draws, across, s1, s2 = _noise_case()
    got = noise_statistics(draws, across)
    want_noise = (0.5 * np.mean(np.sqrt(np.array([1.0, 2, 4, 5]) ** 2 + 9)) + 0.1 + 0.0) / 2
    assert set(got) == {"noise_std", "style_std", "noise_edge_corr"}
    assert got["noise_std"] == pytest.approx(want_noise, rel=1e-12)
    assert got["style_std"] == pytest.approx(1.0, rel=1e-12)
    assert got["noise_edge_corr"] == pytest.approx(0.5, abs=1e-12)          # (1 + 0) / 2
    # Only the first w: a correlation of exactly 1; a std that falls with the edges: -1.
    assert noise_statistics(draws[:1], across)["noise_edge_corr"] == pytest.approx(1.0, abs=1e-12)
    m = draws[0, 1]
    flip = np.stack([m - np.sqrt(1.5) * (4 - s1), m, m + np.sqrt(1.5) * (4 - s1)])[None]
    assert noise_statistics(flip, across)["noise_edge_corr"] == pytest.approx(-1.0, abs=1e-12)
    # A half-correlated case: std = edges + a term orthogonal to them (mean 0, uncorrelated), equal
    # variance: correlation 1 / sqrt(2).
    e = np.sqrt(np.array([1.0, 2, 4, 5]) ** 2 + 9)[None].repeat(3, 0).ravel()
    ec = e - e.mean()
    r = np.random.default_rng(0).standard_normal(12)
    r -= r.mean()
    r -= (r @ ec) / (ec @ ec) * ec
    r *= np.linalg.norm(ec) / np.linalg.norm(r)
    s = (ec + r + 10).reshape(3, 4)
    half = np.stack([m - np.sqrt(1.5) * s, m, m + np.sqrt(1.5) * s])[None]
    out = noise_statistics(half, across)
    assert out["noise_edge_corr"] == pytest.approx(2 ** -0.5, abs=1e-9)
    assert out["noise_std"] == pytest.approx(s.mean(), rel=1e-12)


def test_noise_statistics_shape_errors():
    draws, across, _, _ = _noise_case()
    for bad in ((draws[0], across), (draws, across[0]), (draws, across[:, :, :2])):
        with pytest.raises(ValueError, match="draws"):
            noise_statistics(*bad)


# ---------------------------------------------------------------- flags
def test_finished_samples_run_names_what_is_missing(tmp_path):
    with pytest.raises(argparse.ArgumentTypeError, match="samples.npy"):
        finished_samples_run(str(tmp_path))
    np.save(tmp_path / "samples.npy", np.zeros((10, 1, 28, 28), np.float32))
    with pytest.raises(argparse.ArgumentTypeError, match="metrics.json"):
        finished_samples_run(str(tmp_path))
    (tmp_path / "metrics.json").write_text(json.dumps({"inception_score": 2.0}))
    with pytest.raises(argparse.ArgumentTypeError, match="fid"):
        finished_samples_run(str(tmp_path))
    (tmp_path / "metrics.json").write_text(json.dumps({"fid": 12.5}))
    assert finished_samples_run(str(tmp_path)) == str(tmp_path)
    np.save(tmp_path / "samples.npy", np.zeros((10, 784), np.float32))          # not (N, C, H, W)
    with pytest.raises(argparse.ArgumentTypeError, match=r"shape \(10, 784\)"):
        finished_samples_run(str(tmp_path))


def test_compare_needs_psi_1_among_the_truncation_values(capsys):
    p = add_stylegan_flags(argparse.ArgumentParser())
    a = p.parse_args(["--psi", "0.7", "0.5"])
    assert check_stylegan_args(p, a) is a                       # no --compare: any ψ
    a.compare = ["somewhere"]
    with pytest.raises(SystemExit):
        check_stylegan_args(p, a)
    assert "--psi" in capsys.readouterr().err
    a.psi = [0.5, 1.0]
    assert check_stylegan_args(p, a) is a


def test_noise_statistics_round_off_is_no_noise():
    """Draws that differ only by float32 round-off (the --no-noise ablation) have no std map to correlate."""
    rng = np.random.default_rng(3)
    base = rng.uniform(-1, 1, (1, 1, 1, 8, 8))
    draws = np.repeat(base, 5, axis=1) + rng.normal(0, 3e-8, (1, 5, 1, 8, 8))
    stats = noise_statistics(draws, rng.uniform(-1, 1, (4, 1, 8, 8)))
    assert stats["noise_std"] < 1e-7 and stats["noise_edge_corr"] == 0.0


def test_add_stylegan_flags_defaults_and_checks(capsys):
    p = add_stylegan_flags(argparse.ArgumentParser())
    a = p.parse_args([])
    assert (a.w_dim, a.width, a.mapping_layers, a.lr, a.r1_gamma, a.r1_every, a.mixing_prob) == \
        (128, 64, 8, 2e-3, 10.0, 16, 0.9)
    assert a.psi == [1.0, 0.7, 0.5, 0.0] and a.ppl_samples == 2000 and a.compare == []
    assert not a.no_mapping and not a.no_noise
    a = p.parse_args(["--psi", "1", "0", "--mixing-prob", "0", "--r1-gamma", "0", "--no-noise"])
    assert a.psi == [1.0, 0.0] and a.mixing_prob == 0 and a.r1_gamma == 0 and a.no_noise
    for bad in (["--mixing-prob", "1.5"], ["--r1-every", "0"], ["--psi", "-1"], ["--r1-gamma", "-1"],
                ["--ppl-samples", "0"], ["--compare", "/nonexistent/run"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
        assert bad[0] in capsys.readouterr().err


# ---------------------------------------------------------------- figures
def test_figures_are_written_at_their_layout_sizes(tmp_path):
    rng = np.random.default_rng(0)
    img = lambda *s: rng.uniform(-1, 1, s).astype(np.float32)   # noqa: E731
    # save_image_rows' exact layout at 100 dpi: each row 2.5 px per grid pixel + 8 px gap, 5 px top
    # margin (35 with a title). Two rows of ten 28x28 tiles: grids 32 px high -> 2 * (80 + 8) + 5.
    (tmp_path / "r").mkdir()
    np.save(tmp_path / "r" / "samples.npy", img(12, 1, 28, 28))
    (tmp_path / "r" / "metrics.json").write_text(json.dumps({"fid": 33.3}))
    out = save_comparison(tmp_path / "cmp.png", [("this run", img(10, 1, 28, 28), 12.0), str(tmp_path / "r")])
    pic = iio.imread(out)
    assert pic.shape[0] == 181 and pic.shape[1] > 302 * 2.5 and pic.shape[2] in (3, 4)
    # A run with fewer samples than `shown` shortens every row (rows of one length): 4 tiles of 30 px.
    np.save(tmp_path / "r" / "samples.npy", img(4, 1, 28, 28))
    short = iio.imread(save_comparison(tmp_path / "cmp4.png", [("this run", img(10, 1, 28, 28), 12.0),
                                                               str(tmp_path / "r")]))
    assert short.shape[0] == 181 and short.shape[1] < pic.shape[1] - 6 * 30 * 2.5 + 5
    # Figure 4: K = 2 rows of 6 draws + the std image, with a title: 35 + 2 * 88.
    pic = iio.imread(save_noise_figure(tmp_path / "noise.png", img(2, 9, 1, 28, 28)))
    assert pic.shape[0] == 211 and pic.shape[1] > 7 * 30 * 2.5
    # Figure 3: one 3.4 x 3.2 inch panel per group, at 100 dpi.
    mixes = {name: img(2, 3, 1, 28, 28) for name in ("coarse", "middle", "fine")}
    pic = iio.imread(save_mixing_grid(tmp_path / "mix.png", img(2, 1, 28, 28), img(3, 1, 28, 28), mixes))
    assert pic.shape[:2] == (320, 1020)
