"""The engine's threads (tinygen/kernels/threads.py) and its malloc settings (tinygen/kernels/memory.py).

Every kernel that splits its work between threads must give the same bits as one thread: the
split is over independent elements, never inside a sum. Each check below runs a kernel at
``set_num_threads(1)`` and at 2 (or 3, which cuts uneven chunks) on arrays above the
splitting threshold, in the memory layouts the engine produces (batch innermost).
"""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import tinygen as tg
from tinygen.kernels import im2col_numpy, threads
from tinygen.ops.activation import _step_mask, _times_mask


@pytest.fixture
def restore_threads():
    n = tg.get_num_threads()
    yield
    tg.set_num_threads(n)


def batch_innermost(rng, shape):
    """A float32 (N, C, H, W) array whose memory is (C, H, W, N), as conv outputs are here."""
    N, C, H, W = shape
    return np.ascontiguousarray(rng.standard_normal((C, H, W, N), dtype=np.float32)).transpose(3, 0, 1, 2)


# ---------------------------------------------------------------- parallel_for
@pytest.mark.parametrize("n, nthreads", [(2, 2), (7, 2), (7, 3), (1000, 3), (5, 8)])
def test_parallel_for_covers_every_index_once_in_contiguous_chunks(n, nthreads, restore_threads):
    tg.set_num_threads(nthreads)
    calls, names = [], set()

    def body(lo, hi):
        calls.append((lo, hi))
        names.add(threading.current_thread().name)

    threads.parallel_for(n, body, work=10 ** 9)
    calls.sort()
    assert calls[0][0] == 0 and calls[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(calls, calls[1:]))            # no gap, no overlap
    assert len(calls) == min(nthreads, n) and all(hi > lo for lo, hi in calls)
    # the caller does a chunk, and a pool thread another (one pool thread may take two)
    assert threading.current_thread().name in names and len(names) >= min(2, len(calls))


def test_parallel_for_small_work_one_thread_or_none(restore_threads):
    tg.set_num_threads(2)
    calls = []
    threads.parallel_for(100, lambda lo, hi: calls.append((lo, hi)), work=threads.MIN_ITEMS - 1)
    threads.parallel_for(1, lambda lo, hi: calls.append((lo, hi)), work=10 ** 9)
    threads.parallel_for(0, lambda lo, hi: calls.append((lo, hi)), work=10 ** 9)
    assert calls == [(0, 100), (0, 1)]
    tg.set_num_threads(1)
    threads.parallel_for(100, lambda lo, hi: calls.append((lo, hi)), work=10 ** 9)
    assert calls[-1] == (0, 100)


def test_parallel_for_raises_a_workers_error_after_all_chunks(restore_threads):
    tg.set_num_threads(2)
    done = []

    def body(lo, hi):
        if lo > 0:
            raise KeyError("second chunk")
        done.append(lo)

    with pytest.raises(KeyError, match="second chunk"):
        threads.parallel_for(10, body, work=10 ** 9)
    assert done == [0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_non_positive_ints(bad, restore_threads):
    with pytest.raises(ValueError, match="set_num_threads: expected an int >= 1"):
        tg.set_num_threads(bad)


def test_set_num_threads_round_trips(restore_threads):
    tg.set_num_threads(3)
    assert tg.get_num_threads() == 3
    tg.set_num_threads(1)
    assert tg.get_num_threads() == 1


def test_split_axis_is_the_outermost_in_memory():
    a = np.zeros((64, 128, 14, 14), dtype=np.float32).transpose(1, 0, 2, 3)     # memory (64, 128, 14, 14)
    assert threads.split_axis(a) == 1
    assert threads.split_axis(np.zeros((1, 5, 3))) == 1                          # length-1 axes skipped
    assert threads.split_axis(np.zeros(())) == 0


# ---------------------------------------------------------------- the kernels, 1 thread against several
def with_threads(n, fn):
    before = tg.get_num_threads()
    tg.set_num_threads(n)
    try:
        return fn()
    finally:
        tg.set_num_threads(before)


@pytest.mark.parametrize("nthreads", [2, 3])
def test_im2col_and_col2im_same_bits_on_any_thread_count(nthreads):
    rng = np.random.default_rng(0)
    x = batch_innermost(rng, (16, 24, 14, 14))
    c = rng.standard_normal((24, 4, 4, 7, 7, 16), dtype=np.float32)
    for f in (lambda: im2col_numpy.im2col(x, 4, 4, 2, 2, 1, 1), lambda: im2col_numpy.col2im(c, 14, 14, 2, 2, 1, 1),
              lambda: im2col_numpy.im2col(x[:, :1], 3, 3, 1, 1, 1, 1)):                # one channel: no split
        one, many = with_threads(1, f), with_threads(nthreads, f)
        assert one.shape == many.shape and one.strides == many.strides
        assert np.array_equal(one, many)
    # and the values themselves, against a loop (a split that drops or repeats channels fails here)
    col = with_threads(nthreads, lambda: im2col_numpy.im2col(x, 4, 4, 2, 2, 1, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for ch, i, j in ((0, 0, 0), (11, 1, 3), (12, 3, 2), (23, 2, 1)):
        assert np.array_equal(col[ch, i, j], xp[:, ch, i:i + 14:2, j:j + 14:2].transpose(1, 2, 0))
    img = with_threads(nthreads, lambda: im2col_numpy.col2im(c, 14, 14, 2, 2, 1, 1))
    ref = np.zeros((24, 16, 16, 16), dtype=np.float32)
    for i in range(4):
        for j in range(4):
            ref[:, i:i + 14:2, j:j + 14:2] += c[:, i, j]
    assert np.allclose(img, ref[:, 1:15, 1:15].transpose(3, 0, 1, 2), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("nthreads", [2, 3])
def test_masks_and_masked_products_same_bits_on_any_thread_count(nthreads):
    rng = np.random.default_rng(1)
    x = batch_innermost(rng, (32, 64, 14, 14))
    gy = rng.standard_normal(x.shape, dtype=np.float32)                          # plain NCHW: another layout
    for low in (0.0, 0.2):
        one = with_threads(1, lambda: _step_mask(x, low))
        many = with_threads(nthreads, lambda: _step_mask(x, low))
        assert np.array_equal(one, many) and many.strides == x.strides and many.dtype == np.float32
        assert np.array_equal(many, np.where(x > 0, np.float32(1), np.float32(low)))
        for a in (x, gy):
            prod = with_threads(nthreads, lambda: _times_mask(a, many))
            assert np.array_equal(prod, a * many) and prod.strides == a.strides


def test_relu_and_leaky_relu_through_the_ops(restore_threads):
    rng = np.random.default_rng(2)
    x = batch_innermost(rng, (32, 64, 14, 14))
    gy = rng.standard_normal(x.shape, dtype=np.float32)
    results = []
    for n in (1, 2):
        tg.set_num_threads(n)
        out = []
        for f in (tg.relu, lambda t: tg.nn.functional.leaky_relu(t, 0.2)):
            t = tg.tensor(x, requires_grad=True)
            y = f(t)
            y.backward(tg.tensor(gy))
            out += [y.numpy(), t.grad.numpy()]
        results.append(out)
    for a, b in zip(*results):
        assert np.array_equal(a, b)
    assert np.array_equal(results[1][2], np.where(x > 0, x, np.float32(0.2) * x))
    assert np.array_equal(results[1][3], gy * np.where(x > 0, np.float32(1), np.float32(0.2)))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_same_bits_on_any_thread_count(amsgrad, restore_threads):
    """Three Adam steps on a big weight (split across threads), a small one (not split) and a
    0-d one, at 1 and at 3 threads: identical parameters and moments."""
    rng = np.random.default_rng(3)
    shapes = [(300, 400), (7,), ()]
    inits = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    finals = []
    for n in (1, 3):
        tg.set_num_threads(n)
        ps = [tg.nn.Parameter(tg.tensor(a.copy())) for a in inits]
        opt = tg.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.9), amsgrad=amsgrad)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = tg.tensor(g)
            opt.step()
        finals.append([p.numpy().copy() for p in ps] + [opt.state[ps[0]]["exp_avg_sq"].copy()])
    for a, b in zip(*finals):
        assert np.array_equal(a, b)
    assert not np.array_equal(finals[0][0], inits[0])


# ---------------------------------------------------------------- malloc
def test_freed_memory_is_kept_on_glibc_and_can_be_switched_off():
    code = "import tinygen.kernels.memory as m; print(m.KEPT)"
    env = dict(os.environ)
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    env["TINYGEN_KEEP_MEMORY"] = "0"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert off.stdout.strip() == "False", off.stderr
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    if not libc or not libc.startswith("glibc"):
        pytest.skip("not glibc: mallopt is not there, and nothing is changed")
    assert on.stdout.strip() == "True", on.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_threads(restore_threads):
    """The pool's threads do not survive a fork; a child that splits work must not wait on them."""
    tg.set_num_threads(2)
    threads.parallel_for(4, lambda lo, hi: None, work=10 ** 9)                     # the parent's pool exists
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            out = np.zeros(4)
            threads.parallel_for(4, lambda lo, hi: out.__setitem__(slice(lo, hi), 1), work=10 ** 9)
            code = 0 if out.sum() == 4 else 1
        finally:
            os._exit(code)
    for _ in range(200):                                                          # up to 10 s
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        threading.Event().wait(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung waiting for the parent's threads")
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_nested_parallel_for_runs_alone_instead_of_waiting_forever(restore_threads):
    """A body that calls parallel_for again (on any thread, the pool's included) gets its loop run
    on its own thread: with every pool thread busy in the outer call, waiting would never end."""
    tg.set_num_threads(2)
    inner = []

    def outer(lo, hi):
        threads.parallel_for(4, lambda a, b: inner.append((threading.current_thread().name, a, b)), work=10 ** 9)

    t = threading.Thread(target=threads.parallel_for, args=(2, outer), kwargs={"work": 10 ** 9}, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "nested parallel_for hung"
    assert sorted(x[1:] for x in inner) == [(0, 4), (0, 4)]                # each inner loop whole, on its own thread
    assert len({x[0] for x in inner}) == 2
