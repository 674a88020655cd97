"""Tests for tinygen.data: IDX reading, dataset lookup, ImageFolder, Batches."""

import gzip
import os

import imageio.v3 as iio
import numpy as np
import pytest

from tinygen.utils import data
from tinygen.utils.data import Batches, ImageFolder, read_idx, subset, to_float_images

from conftest import idx_bytes, write_idx  # noqa: E402

# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    # The file name deliberately lacks ".gz": gzip must be detected by magic bytes.
    path = write_idx(tmp_path / "x-idx", arr, compress)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # result must be writable


@pytest.mark.parametrize("shape", [(7,), (2, 3), (2, 1, 3, 2)])
def test_idx_ndim(tmp_path, shape):
    arr = np.arange(np.prod(shape), dtype=np.int32).reshape(shape) - 3
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", arr)), arr)


def test_idx_bad_magic(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    raw[0] = 0x12
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"magic.*00 00.*12 00"):
        read_idx(tmp_path / "bad")


def test_idx_unknown_type_code(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    raw[2] = 0x0A
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="type code 0x0A"):
        read_idx(tmp_path / "bad")


def test_idx_bad_ndim(tmp_path):
    (tmp_path / "bad").write_bytes(bytes([0, 0, 8, 0]))
    with pytest.raises(ValueError, match="ndim"):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize("compress", [False, True])
def test_idx_truncated(tmp_path, compress):
    raw = idx_bytes(np.zeros((10, 4, 4), np.int16))[:-7]  # payload 320 bytes -> 313
    path = tmp_path / "trunc"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match="truncated") as info:
        read_idx(path)
    msg = str(info.value)
    assert "320" in msg and "313" in msg and str(path) in msg


def test_idx_truncated_header(tmp_path):
    (tmp_path / "h").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="header"):
        read_idx(tmp_path / "h")


def test_idx_trailing_bytes(tmp_path):
    (tmp_path / "t").write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"xyz")
    with pytest.raises(ValueError, match="3 trailing bytes"):
        read_idx(tmp_path / "t")


def test_idx_corrupt_gzip(tmp_path):
    gz = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    (tmp_path / "cut.gz").write_bytes(gz[: len(gz) // 2])  # -> EOFError inside gzip
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        read_idx(tmp_path / "cut.gz")
    assert "cut.gz" in str(info.value)
    bad = bytearray(gz)
    bad[20:40] = b"\xff" * 20  # -> zlib.error or BadGzipFile (CRC)
    (tmp_path / "garbled.gz").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(tmp_path / "garbled.gz")


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")


# --------------------------------------------------------------------------- datasets


def make_mnist_dir(folder, n_train=12, n_test=5, compress=True, split_only=None):
    """Write tiny MNIST-style IDX files; returns the train/test arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        if split_only and split != split_only:
            continue
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        ext = ".gz" if compress else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y, compress)
        out[split] = (x, y)
    return out


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No TINYGEN_DATA, cwd in tmp_path, system folders pointing at an empty dir."""
    monkeypatch.delenv("TINYGEN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    sysdir = tmp_path / "system"
    sysdir.mkdir()
    monkeypatch.setattr(data, "SYSTEM_DATA_DIRS", [str(sysdir)])
    return tmp_path


def test_missing_dataset_message(isolated, monkeypatch):
    env = isolated / "envdata"
    env.mkdir()
    monkeypatch.setenv("TINYGEN_DATA", str(env))
    with pytest.raises(FileNotFoundError) as info:
        data.fashion_mnist("train")
    msg = str(info.value)
    for folder in (env / "fashion-mnist", env, isolated / "data" / "fashion-mnist",
                   isolated / "system" / "fashion-mnist"):
        assert str(folder) in msg
    assert "apt-get update && apt-get install -y dataset-fashion-mnist" in msg
    assert "TINYGEN_DATA" in msg

    with pytest.raises(FileNotFoundError) as info:
        data.mnist("test")
    msg = str(info.value)
    assert str(env / "mnist") in msg and str(isolated / "data" / "mnist") in msg
    assert "./data/mnist/" in msg and "t10k-images-idx3-ubyte" in msg


def test_missing_mnist_default_system_dirs(tmp_path, monkeypatch):
    # Unpatched SYSTEM_DATA_DIRS; MNIST is not packaged for Debian so it is absent here.
    monkeypatch.delenv("TINYGEN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    if os.path.isdir("/usr/share/datasets/mnist"):
        pytest.skip("system MNIST installed")
    with pytest.raises(FileNotFoundError, match="/usr/share/datasets/mnist"):
        data.mnist("train")


def test_load_from_env_subfolder(isolated, monkeypatch):
    env = isolated / "envdata"
    written = make_mnist_dir(env / "fashion-mnist")
    monkeypatch.setenv("TINYGEN_DATA", str(env))
    for split in ("train", "test"):
        x, y = data.fashion_mnist(split)
        assert x.dtype == np.uint8 and y.dtype == np.int64
        np.testing.assert_array_equal(x, written[split][0])
        np.testing.assert_array_equal(y, written[split][1])
    assert data.fashion_mnist("train")[0].shape == (12, 28, 28)
    assert data.fashion_mnist("test")[0].shape == (5, 28, 28)


def test_load_from_env_folder_itself_and_cwd_data(isolated, monkeypatch):
    env = isolated / "flat"
    written = make_mnist_dir(env, compress=False)
    monkeypatch.setenv("TINYGEN_DATA", str(env))
    np.testing.assert_array_equal(data.mnist("train")[1], written["train"][1])
    monkeypatch.delenv("TINYGEN_DATA")
    local = make_mnist_dir(isolated / "data" / "mnist", n_train=3)
    np.testing.assert_array_equal(data.mnist("train")[0], local["train"][0])


def test_search_order_first_complete_folder_wins(isolated, monkeypatch):
    env = isolated / "envdata"
    make_mnist_dir(env / "fashion-mnist", split_only="test")  # train missing here
    later = make_mnist_dir(isolated / "data" / "fashion-mnist", n_train=4)
    monkeypatch.setenv("TINYGEN_DATA", str(env))
    assert data.fashion_mnist("train")[0].shape[0] == 4  # falls through to ./data
    assert data.fashion_mnist("test")[0].shape[0] == 5
    np.testing.assert_array_equal(data.fashion_mnist("train")[0], later["train"][0])


def test_load_from_root(isolated):
    written = make_mnist_dir(isolated / "mine")
    make_mnist_dir(isolated / "data" / "fashion-mnist", n_train=3)
    x, y = data.fashion_mnist("train", root=isolated / "mine")
    np.testing.assert_array_equal(x, written["train"][0])
    # root is the only folder searched
    with pytest.raises(FileNotFoundError) as info:
        data.fashion_mnist("train", root=isolated / "empty")
    assert str(isolated / "empty") in str(info.value)
    assert "data/fashion-mnist\n" not in str(info.value).split("Searched:")[1].split("To get")[0]


def test_bad_split(isolated):
    with pytest.raises(ValueError, match=r"split.*'train' or 'test'.*'val'"):
        data.fashion_mnist("val")


def test_shape_checks(isolated):
    folder = isolated / "odd"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        data.mnist("train", root=folder)
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((4, 27, 28), np.uint8))
    with pytest.raises(ValueError, match="28, 28"):
        data.mnist("train", root=folder)


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    folder = "/usr/share/datasets/fashion-mnist"
    x, y = data.fashion_mnist("test", root=folder)
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.min() == 0 and y.max() == 9
    x, y = data.fashion_mnist("train", root=folder)
    assert x.shape == (60000, 28, 28) and y.shape == (60000,)
    assert set(np.unique(y)) == set(range(10))


# --------------------------------------------------------------------------- to_float_images


def test_to_float_images():
    x = np.array([[[0, 255], [128, 51]]], dtype=np.uint8)  # (1, 2, 2)
    f = to_float_images(x)
    assert f.dtype == np.float32 and f.shape == (1, 1, 2, 2)
    assert f.min() == -1.0 and f.max() == 1.0
    np.testing.assert_allclose(f[0, 0, 1, 0], 128 / 255 * 2 - 1, atol=1e-6)
    g = to_float_images(np.full((2, 3, 4, 4), 255, np.uint8), low=0.0, high=1.0)
    assert g.shape == (2, 3, 4, 4) and g.dtype == np.float32 and np.all(g == 1.0)
    with pytest.raises(ValueError, match="uint8"):
        to_float_images(x.astype(np.float32))
    with pytest.raises(ValueError, match="low"):
        to_float_images(x, low=1.0, high=0.0)


# --------------------------------------------------------------------------- ImageFolder


def make_images(folder):
    """Three images: 40x60 RGB with green 10-px side bars, 20x20 grayscale, 30x20 RGBA."""
    (folder / "sub").mkdir(parents=True)
    wide = np.zeros((40, 60, 3), np.uint8)
    wide[:] = (200, 30, 30)  # red centre
    wide[:, :10] = wide[:, 50:] = (0, 255, 0)  # bars the centre crop must remove
    iio.imwrite(folder / "a_wide.PNG", wide)
    gray = np.full((20, 20), 77, np.uint8)
    iio.imwrite(folder / "b_gray.png", gray)
    rgba = np.zeros((30, 20, 4), np.uint8)
    rgba[..., :3] = (10, 20, 240)
    rgba[..., 3] = 0  # fully transparent: alpha must be dropped, not blended
    iio.imwrite(folder / "sub" / "c_rgba.png", rgba)
    photo = np.full((16, 24, 3), 128, np.uint8)
    iio.imwrite(folder / "sub" / "d.jpg", photo)
    (folder / "notes.txt").write_text("not an image")


def test_image_folder(tmp_path):
    make_images(tmp_path / "imgs")
    ds = ImageFolder(tmp_path / "imgs", image_size=8, cache_dir=tmp_path / "cache")
    assert len(ds) == 4
    assert ds.images.shape == (4, 3, 8, 8) and ds.images.dtype == np.uint8
    assert [p.name for p in ds.files] == ["a_wide.PNG", "b_gray.png", "c_rgba.png", "d.jpg"]
    wide, gray, rgba, jpg = ds.images
    # Centre crop of 40x60 keeps columns 10..49: all red, no green bars.
    assert np.all(np.abs(wide.astype(int) - np.array([200, 30, 30])[:, None, None]) <= 2)
    assert np.all(gray == 77)
    assert np.all(rgba == np.array([10, 20, 240], np.uint8)[:, None, None])
    assert np.all(np.abs(jpg.astype(int) - 128) <= 3)
    assert not ds.from_cache


def test_image_folder_cache_reused(tmp_path, monkeypatch):
    make_images(tmp_path / "imgs")
    cache = tmp_path / "cache"
    first = ImageFolder(tmp_path / "imgs", image_size=6, cache_dir=cache)
    files = list(cache.glob("*.npy"))
    assert len(files) == 1
    assert not list(cache.glob("*.tmp"))  # temp file replaced, not left behind

    def boom(*a, **k):
        raise AssertionError("decoded although a cache exists")

    monkeypatch.setattr(iio, "imread", boom)
    second = ImageFolder(tmp_path / "imgs", image_size=6, cache_dir=cache)
    assert second.from_cache
    np.testing.assert_array_equal(second.images, first.images)
    # A different size is a different cache entry, so it must decode (and hit boom).
    with pytest.raises(ValueError, match="decoded although"):
        ImageFolder(tmp_path / "imgs", image_size=5, cache_dir=cache)


def test_image_folder_cache_invalidated_and_corrupt(tmp_path):
    make_images(tmp_path / "imgs")
    cache = tmp_path / "cache"
    ImageFolder(tmp_path / "imgs", image_size=4, cache_dir=cache)
    # Adding an image changes the key: a new cache file with 5 images.
    iio.imwrite(tmp_path / "imgs" / "e.png", np.zeros((9, 9, 3), np.uint8))
    ds = ImageFolder(tmp_path / "imgs", image_size=4, cache_dir=cache)
    assert len(ds) == 5 and not ds.from_cache
    assert len(list(cache.glob("*.npy"))) == 2
    # A garbage cache file is ignored and rebuilt.
    ds.cache_path.write_bytes(b"garbage")
    again = ImageFolder(tmp_path / "imgs", image_size=4, cache_dir=cache)
    assert not again.from_cache
    np.testing.assert_array_equal(again.images, ds.images)
    assert np.load(again.cache_path).shape == (5, 3, 4, 4)


def test_image_folder_default_cache_dir(tmp_path, monkeypatch):
    make_images(tmp_path / "imgs")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "envcache"))
    ds = ImageFolder(tmp_path / "imgs", image_size=4)
    assert ds.cache_path.parent == tmp_path / "envcache" and ds.cache_path.is_file()


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        ImageFolder(tmp_path / "missing", cache_dir=tmp_path / "c")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"empty.*\.jpg.*\.png"):
        ImageFolder(tmp_path / "empty", cache_dir=tmp_path / "c")
    make_images(tmp_path / "imgs")
    for bad in (0, -3, 2.5, "64", True):
        with pytest.raises(ValueError, match="image_size"):
            ImageFolder(tmp_path / "imgs", image_size=bad, cache_dir=tmp_path / "c")


def test_image_folder_corrupt_image(tmp_path):
    make_images(tmp_path / "imgs")
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        ImageFolder(tmp_path / "imgs", image_size=4, cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").glob("*.npy"))


# --------------------------------------------------------------------------- Batches


def test_batches_cover_epoch_once():
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(10, dtype=np.int64)
    b = Batches(x, y, batch_size=3, seed=5)
    assert len(b) == 3
    seen = []
    for xb, yb in b:
        assert xb.shape == (3, 3) and xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows stay aligned
        seen += list(yb)
    assert len(seen) == 9 and len(set(seen)) == 9  # drop_last: one item left out
    assert b.epoch == 0
    b2 = Batches(y, batch_size=3, drop_last=False, seed=5)
    assert len(b2) == 4
    got = [yb for yb in b2]
    assert [len(g) for g in got] == [3, 3, 3, 1]
    assert sorted(np.concatenate(got)) == list(range(10))


def test_batches_for_loop_advances_epochs():
    y = np.arange(8)
    b = Batches(y, batch_size=4, seed=0)
    e0 = np.concatenate(list(b))
    e1 = np.concatenate(list(b))
    assert b.epoch == 1
    assert sorted(e0) == sorted(e1) == list(range(8))
    assert not np.array_equal(e0, e1)


def test_batches_next_batch_endless_and_seeded():
    y = np.arange(20)
    a = Batches(y, batch_size=5, seed=1)
    b = Batches(y, batch_size=5, seed=1)
    c = Batches(y, batch_size=5, seed=2)
    seq_a = [a.next_batch() for _ in range(12)]  # 3 epochs
    seq_b = [b.next_batch() for _ in range(12)]
    seq_c = [c.next_batch() for _ in range(12)]
    assert a.epoch == 2
    for i in range(3):
        assert sorted(np.concatenate(seq_a[4 * i:4 * i + 4])) == list(range(20))
    assert all(np.array_equal(p, q) for p, q in zip(seq_a, seq_b))
    assert not all(np.array_equal(p, q) for p, q in zip(seq_a, seq_c))
    assert not np.array_equal(np.concatenate(seq_a[:4]), np.concatenate(seq_a[4:8]))
    np.testing.assert_array_equal(
        np.concatenate(seq_a[4:8]), np.random.default_rng([1, 1]).permutation(20)
    )


def test_batches_no_shuffle():
    b = Batches(np.arange(6), batch_size=2, shuffle=False)
    assert [list(v) for v in b] == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("steps", [0, 3, 4, 9])
def test_batches_resume(steps):
    x = np.arange(34).reshape(17, 2)
    ref = Batches(x, batch_size=4, seed=7)
    for _ in range(steps):
        ref.next_batch()
    state = ref.state_dict()
    assert set(state) == {"epoch", "pos"} and all(type(v) is int for v in state.values())
    expected = [ref.next_batch() for _ in range(10)]
    resumed = Batches(x, batch_size=4, seed=7)
    resumed.load_state_dict(state)
    got = [resumed.next_batch() for _ in range(10)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)
    assert resumed.state_dict() == ref.state_dict()


def test_batches_resume_mid_epoch_for_loop():
    y = np.arange(12)
    ref = Batches(y, batch_size=3, seed=3)
    it = iter(ref)
    next(it)
    state = ref.state_dict()
    rest = list(it)
    resumed = Batches(y, batch_size=3, seed=3)
    resumed.load_state_dict(state)
    got = list(resumed)  # finishes the interrupted epoch only
    assert len(got) == 3
    for e, g in zip(rest, got):
        np.testing.assert_array_equal(e, g)


def test_batches_errors():
    with pytest.raises(ValueError, match=r"\(5,\).*\(4, 2\)"):
        Batches(np.zeros(5), np.zeros((4, 2)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        Batches(np.zeros(5), batch_size=0)
    with pytest.raises(ValueError, match="batch_size 6"):
        Batches(np.zeros(5), batch_size=6)
    assert len(Batches(np.zeros(5), batch_size=6, drop_last=False)) == 1
    with pytest.raises(ValueError, match="at least one"):
        Batches(batch_size=2)
    b = Batches(np.zeros(5), batch_size=2)
    with pytest.raises(ValueError, match="pos"):
        b.load_state_dict({"epoch": 0, "pos": 3})
    with pytest.raises(ValueError):
        b.load_state_dict({"epoch": 0})


def test_subset():
    x, y = np.arange(10), np.arange(10) * 2
    xs, ys = subset(3, x, y)
    np.testing.assert_array_equal(xs, [0, 1, 2])
    np.testing.assert_array_equal(ys, [0, 2, 4])
    assert len(subset(50, x)) == 10
    with pytest.raises(ValueError):
        subset(-1, x)


def test_load_train_test(isolated):
    written = make_mnist_dir(isolated / "data" / "fashion-mnist", n_train=12, n_test=5)
    x_tr, y_tr, x_te, y_te = data.load_train_test()
    assert x_tr.shape == (12, 1, 28, 28) and x_te.shape == (5, 1, 28, 28) and x_tr.dtype == np.float32
    np.testing.assert_allclose(x_tr[:, 0], written["train"][0] / 255.0, rtol=1e-6)  # (0, 1) by default
    np.testing.assert_array_equal(y_te, written["test"][1])
    x_tr, _, x_te, _ = data.load_train_test(limit=10, value_range=(-1.0, 1.0))
    assert len(x_tr) == 10 and len(x_te) == 2 and x_tr.min() >= -1 and x_tr.min() < -0.9
    with pytest.raises(ValueError, match="dataset: expected 'fashion-mnist' or 'mnist'"):
        data.load_train_test("folder")
