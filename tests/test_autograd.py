"""The engine: backward, grad(), no_grad, retained and freed graphs, memory, creation."""
import gc
import weakref

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn


def test_backward_accumulates_into_leaves_only():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    (y * tg.tensor([1.0, 1.0, 2.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 12])
    assert y.grad is None  # intermediate: not stored
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5, 7, 15])  # accumulated, like PyTorch


def test_grad_returns_without_touching_dot_grad():
    x = tg.tensor([1.5, -2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    gx, gw = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), [3, 4])
    np.testing.assert_allclose(gw.numpy(), [1.5, -2])
    assert x.grad is None and w.grad is None


def test_grad_only_differentiates_what_leads_to_inputs():
    # grad(D(x), x) must not compute weight gradients (the penalty's cost depends on it).
    calls = []

    class Spy(tg.Function):
        def forward(self, a):
            return a * 2

        def backward(self, gy):
            calls.append(1)
            return gy * 2
    x = tg.tensor([1.0], requires_grad=True)
    w = tg.tensor([1.0], requires_grad=True)
    y = x * 3 + Spy()(w)
    tg.grad(y.sum(), x)
    assert calls == []


def test_grad_errors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"gradient: can be omitted only for a one-element output, got output shape \(2,\)"):
        tg.grad(x * 2, x)
    with pytest.raises(ValueError, match=r"gradient: expected shape \(2,\).*got \(3,\)"):
        tg.grad(x * 2, x, grad_outputs=tg.ones(3))
    with pytest.raises(ValueError, match=r"inputs\[0\]: expected a tensor that requires grad"):
        tg.grad((x * 2).sum(), c)
    z = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"inputs\[1\].*not used"):
        tg.grad((x * 2).sum(), [x, z])
    gx, gz = tg.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx is not None


def test_no_grad_records_nothing():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None

    @tg.no_grad()
    def f(a):
        return a * 2
    assert not f(x).requires_grad
    assert (x * 2).requires_grad  # restored afterwards


def test_second_backward_needs_retain_graph():
    x = tg.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_higher_order_derivatives():
    x = tg.tensor([0.7, -1.3], dtype="float64", requires_grad=True)
    y = (x ** 3).sum()
    g1, = tg.grad(y, x, create_graph=True)
    g2, = tg.grad(g1.sum(), x, create_graph=True)
    g3, = tg.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(g3.numpy(), [6.0, 6.0])


def test_backward_create_graph_grad_is_differentiable():
    x = tg.tensor([1.5], dtype="float64", requires_grad=True)
    (tg.exp(x) * x).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()  # d/dx (e^x (x + 1)) = e^x (x + 2)
    np.testing.assert_allclose(x.grad.numpy(), np.exp(1.5) * 3.5)


def test_deep_graph_has_no_recursion_limit():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def _critic():
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1))


def _gp_step(D, opt):
    real, fake = tg.randn(8, 1, 8, 8), tg.randn(8, 1, 8, 8)
    alpha = tg.rand(8, 1, 1, 1)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_()
    g, = tg.grad(D(x_hat).sum(), x_hat, create_graph=True)
    gp = ((g.reshape(8, -1) ** 2).sum(dim=1) ** 0.5 - 1) ** 2
    loss = D(fake).mean() - D(real).mean() + 10 * gp.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def test_graph_is_freed_without_garbage_collector():
    """No reference cycles: with the cycle collector off, dropping the loss frees the
    whole graph, penalty graph included: a Function holds its outputs by weakref
    (see the tinygen.autograd module docstring), so no cycle keeps a graph alive."""
    D = _critic()
    opt = tg.optim.Adam(D.parameters(), 1e-3)
    gc.disable()
    try:
        loss = _gp_step(D, opt)
        ref = weakref.ref(loss.creator)
        del loss
        assert ref() is None
    finally:
        gc.enable()


def test_training_loop_memory_is_steady():
    D = _critic()
    opt = tg.optim.Adam(D.parameters(), 1e-3)
    gc.collect()
    gc.disable()
    try:
        for i in range(40):
            _gp_step(D, opt)
            if i == 9:
                n10 = sum(isinstance(o, (tg.Tensor, tg.Function)) for o in gc.get_objects())
        n40 = sum(isinstance(o, (tg.Tensor, tg.Function)) for o in gc.get_objects())
    finally:
        gc.enable()
    assert n40 <= n10


def test_tensor_creation_and_dtypes():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32       # Python floats: float32
    assert tg.tensor(np.zeros(2)).dtype == np.float64       # arrays keep their dtype
    assert tg.tensor([1, 2]).dtype.kind == "i"
    assert tg.tensor([1.0], dtype="float64").dtype == np.float64
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((2, 3)).numpy().sum() == 6
    a = np.ones(3)
    t = tg.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 1  # copied
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.T.shape == (3, 1) and x.detach().requires_grad is False
    assert tg.tensor([2.5]).item() == 2.5
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda', got 'tpu'"):
        tg.tensor([1.0], device="tpu")


@pytest.mark.skipif(tg.cuda_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="device='cuda' needs CuPy"):
        tg.tensor([1.0], device="cuda")


def test_manual_seed_reproduces():
    tg.manual_seed(3)
    a, b = tg.randn(5).numpy(), tg.rand(5).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(a, tg.randn(5).numpy())
    np.testing.assert_array_equal(b, tg.rand(5).numpy())
    tg.manual_seed(4)
    assert not np.array_equal(a, tg.randn(5).numpy())
    rng = np.random.default_rng(3)                      # the global generator is NumPy's PCG64, in draw order
    rng.standard_normal(5)
    np.testing.assert_array_equal(b, rng.random(5).astype(np.float32))


def test_to_device_roundtrip_is_differentiable(device):
    x = rand64(3, device="cpu")
    y = x.to(device)
    assert y.device == device
    assert tg.gradcheck(lambda x: (x.to(device) * 2).to("cpu"), [x])


class _Probe(tg.Function):
    """y = a * b that records, at each backward, the needs_grad flags it was given and
    whether the cotangent handed to the previous probe in the chain is still alive."""

    log = []

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        import weakref
        alive = [ref() is not None for ref in _Probe.refs]
        _Probe.log.append((self.needs_grad, alive))
        _Probe.refs.append(weakref.ref(gy))
        a, b = self.inputs
        return (gy * b if self.needs_grad[0] else None), (gy * a if self.needs_grad[1] else None)


def test_grad_computes_only_the_input_gradients_it_needs_and_restores_the_flags():
    a = tg.tensor([2.0], requires_grad=True)
    w = tg.tensor([3.0], requires_grad=True)
    _Probe.log, _Probe.refs = [], []
    y = _Probe()(a, w)
    g, = tg.grad(y, a, retain_graph=True)
    assert g.tolist() == [3.0]
    assert _Probe.log[0][0] == (True, False)   # w's gradient is not wanted: not computed
    assert y.creator.needs_grad == (True, True)  # and the graph is left as it was for a later backward
    y.backward()
    assert w.grad.tolist() == [2.0] and _Probe.log[1][0] == (True, True)


def test_backward_drops_each_intermediate_gradient_once_used():
    x = tg.tensor([2.0], requires_grad=True)
    c = tg.tensor([3.0])
    _Probe.log, _Probe.refs = [], []
    y = _Probe()(_Probe()(_Probe()(x, c), c), c)
    y.backward(tg.tensor([1.0]))
    # The root's cotangent is the caller's tensor, alive throughout; the middle
    # probe's cotangent is an intermediate, freed before the innermost probe runs.
    assert [alive for _, alive in _Probe.log] == [[], [True], [True, False]]
    assert x.grad.tolist() == [27.0]
