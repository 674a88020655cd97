"""Tests of the checker itself: tg.gradcheck and tg.gradgradcheck must catch
wrong derivatives (full-Jacobian and random-direction paths, every input, every
output), including a backward that is right at first order but not written in
differentiable ops, and must accept correct ones.
"""
import numpy as np
import pytest

import tinygen as tg
from conftest import rand64
from tinygen.gradcheck import GradcheckError


class Square(tg.Function):
    def __init__(self, factor=2.0):
        self.factor = factor  # 2 is right; anything else is a planted bug

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * (self.factor * self.inputs[0])


class DetachedExp(tg.Function):
    """exp whose backward treats the saved output as a constant: a right first
    derivative whose own derivative is lost (the fused-backward bug class)."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return gy * tg.Tensor(self.output().data)


class MulBadB(tg.Function):
    """a * b with a wrong gradient for b only."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, gy * a * 1.5


class SquareAndDouble(tg.Function):
    """Two outputs (x*x, 2x); ``bug`` breaks only the first output's contribution."""

    def __init__(self, bug):
        self.bug = bug

    def forward(self, x):
        return x * x, 2 * x

    def backward(self, g_sq, g_dbl):
        x, = self.inputs
        return g_sq * ((1.0 if self.bug else 2.0) * x) + g_dbl * 2.0


class CenteredIdentity(tg.Function):
    """y = x, backward gy + (gy - mean(gy)): right only under an all-ones cotangent."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy + (gy - gy.mean())


SMALL, LARGE = (3, 4), (20, 20)  # 12 elements: every partial; 400 > max_full: random directions


@pytest.mark.parametrize("shape, where", [(SMALL, r"input 0 \(shape \(3, 4\)\), element \(\d, \d\)"),
                                          (LARGE, "random direction")])
def test_wrong_first_derivative_is_caught(shape, where, device):
    x = rand64(*shape, device=device)
    assert tg.gradcheck(lambda t: Square()(t), [x])  # control: the right one passes
    with pytest.raises(AssertionError, match="largest absolute error .* at " + where) as info:
        tg.gradcheck(lambda t: Square(1.0)(t), [x])
    assert isinstance(info.value, GradcheckError)
    assert "analytic" in str(info.value) and "numeric" in str(info.value)


def test_error_names_the_wrong_input(device):
    a, b = rand64(2, 3, device=device, seed=1), rand64(2, 3, device=device, seed=2)
    with pytest.raises(GradcheckError, match=r"largest absolute error .* at input 1 \(shape \(2, 3\)\)"):
        tg.gradcheck(lambda a, b: MulBadB()(a, b), [a, b])
    # Only b is checked when a is a constant, and b is still caught.
    with pytest.raises(GradcheckError):
        tg.gradcheck(lambda a, b: MulBadB()(a, b), [rand64(2, 3, device=device, requires_grad=False), b])


@pytest.mark.parametrize("shape", [SMALL, LARGE])
def test_non_differentiable_backward_is_caught_at_second_order(shape, device):
    x = rand64(*shape, device=device)
    assert tg.gradcheck(lambda t: DetachedExp()(t), [x])    # first order is right...
    assert tg.gradgradcheck(lambda t: t.exp(), [x])         # ...the engine's exp is right at both...
    with pytest.raises(GradcheckError, match="largest absolute error"):
        tg.gradgradcheck(lambda t: DetachedExp()(t), [x])   # ...and the detached one is not.


def test_second_order_bug_in_composite_is_caught(device):
    # The checked function itself differentiates: gradgradcheck's inner grad runs with create_graph.
    x = rand64(3, 4, device=device)
    assert tg.gradgradcheck(lambda t: (t * t.exp()).sum(1), [x])
    with pytest.raises(GradcheckError):
        tg.gradgradcheck(lambda t: (t * DetachedExp()(t)).sum(1), [x])


def test_random_cotangent_catches_bug_hidden_by_ones(device):
    x = rand64(3, 4, device=device)
    # Under an all-ones cotangent this backward returns gy exactly.
    g, = tg.grad(CenteredIdentity()(x), x, grad_outputs=tg.tensor(np.ones((3, 4)), device=device))
    np.testing.assert_array_equal(g.numpy(), np.ones((3, 4)))
    with pytest.raises(GradcheckError):
        tg.gradcheck(lambda t: CenteredIdentity()(t), [x])


@pytest.mark.parametrize("check", [tg.gradcheck, tg.gradgradcheck])
def test_float32_inputs_are_refused(check, device):
    x = tg.tensor(np.ones((2, 3)), dtype="float32", device=device, requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        check(lambda t: t * t, [x])


def test_float32_constant_input_is_allowed(device):
    # Only inputs that require grad are checked, so a float32 constant is fine.
    x = rand64(2, 3, device=device)
    c = tg.tensor(np.ones((2, 3)), dtype="float32", device=device)
    assert tg.gradcheck(lambda t, c: t * c.double(), [x, c])


@pytest.mark.parametrize("shape", [SMALL, LARGE])
def test_raise_exception_false_returns_false(shape, device):
    x = rand64(*shape, device=device)
    assert tg.gradcheck(lambda t: Square(1.0)(t), [x], raise_exception=False) is False
    assert tg.gradgradcheck(lambda t: DetachedExp()(t), [x], raise_exception=False) is False
    assert tg.gradcheck(lambda t: Square()(t), [x], raise_exception=False) is True


@pytest.mark.parametrize("shape", [SMALL, LARGE])
def test_multi_output(shape, device):
    x = rand64(*shape, device=device)
    assert tg.gradcheck(lambda t: SquareAndDouble(bug=False)(t), [x])
    assert tg.gradgradcheck(lambda t: SquareAndDouble(bug=False)(t), [x])
    with pytest.raises(GradcheckError):
        tg.gradcheck(lambda t: SquareAndDouble(bug=True)(t), [x])
    # A tuple of composites, one of which is wrong only at second order.
    y = rand64(*shape, device=device, seed=1)
    assert tg.gradgradcheck(lambda a, b: (a * b, (a.exp() + b).sum()), [x, y])
    with pytest.raises(GradcheckError):
        tg.gradgradcheck(lambda a, b: (a * b, (DetachedExp()(a) + b).sum()), [x, y])


def test_tolerances_are_honoured(device):
    # A 0.01 % error in the derivative passes the default rtol (1e-3) but not a tight one.
    x = rand64(3, 4, device=device, low=1.0, high=2.0)
    assert tg.gradcheck(lambda t: Square(2.0002)(t), [x])
    with pytest.raises(GradcheckError):
        tg.gradcheck(lambda t: Square(2.0002)(t), [x], atol=1e-9, rtol=1e-6)


class DetachedCotangent(tg.Function):
    """y = x²/2 whose backward uses gy as a constant: right at first order, and its
    derivative in x is right too; only its derivative in the cotangent, x, is lost.
    Only a gradgradcheck that differentiates with respect to v catches it."""

    def forward(self, x):
        return 0.5 * x * x

    def backward(self, gy):
        return tg.Tensor(gy.data) * self.inputs[0]


@pytest.mark.parametrize("shape", [SMALL, LARGE])
def test_gradgradcheck_checks_the_derivative_with_respect_to_the_cotangent(shape, device):
    x = rand64(*shape, device=device)
    assert tg.gradcheck(lambda t: DetachedCotangent()(t), [x])  # first order is right
    # d/dx of v * x is v, also right: with v a constant, the second-order check would pass
    v = rand64(*shape, device=device, seed=1, requires_grad=False)
    assert tg.gradcheck(lambda t: tg.grad(DetachedCotangent()(t), t, v, create_graph=True)[0], [x])
    with pytest.raises(GradcheckError, match=f"input 1 \\(shape \\({shape[0]}, {shape[1]}\\)\\)|random direction"):
        tg.gradgradcheck(lambda t: DetachedCotangent()(t), [x])
    assert tg.gradgradcheck(lambda t: 0.5 * t * t, [x])  # control: the engine's ops pass
