"""Elementwise arithmetic and matmul. Each backward sits right below its forward.

Binary ops broadcast like NumPy; the backward sums the gradient back to each
input's shape with ``sum_to``.
"""
from ..autograd import Function, Tensor
from ..backend import get_array_module
from .reduce import sum_to


class Add(Function):
    """y = a + b; dy/da = dy/db = 1 (summed back over broadcast axes)."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    """y = a - b; dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Mul(Function):
    """y = a b; dy/da = b, dy/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy * b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b; dy/da = 1 / b, dy/db = -a / b^2."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy / b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(-(gy * a) / (b * b), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x; dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """x ** c for a constant exponent c."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x, = self.inputs
        return gy * (self.c * x ** (self.c - 1))


class Exp(Function):
    """y = e^x; dy/dx = y."""

    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output()  # d e^x = e^x


class Log(Function):
    """y = log x; dy/dx = 1 / x."""

    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt x; dy/dx = 1 / (2 y)."""

    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy * 0.5 / self.output()  # d sqrt(x) = 1 / (2 sqrt(x))


class Abs(Function):
    """y = |x|; dy/dx = sign(x) (a constant, so exact at every order)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.sign = xp.sign(x)  # constant: |x| is piecewise linear
        return xp.abs(x)

    def backward(self, gy):
        return gy * self.sign


class MatMul(Function):
    """Matrix product of (..., n, k) and (..., k, m), batch dims broadcast."""

    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy @ b.mT, a.shape) if self.needs_grad[0] else None
        gb = sum_to(a.mT @ gy, b.shape) if self.needs_grad[1] else None
        return ga, gb


def _pair(a, b):
    from ._util import as_tensor
    if isinstance(a, Tensor):
        return a, as_tensor(b, a)
    return as_tensor(a, b), b


def add(a, b):
    """a + b with NumPy broadcasting."""
    return Add()(*_pair(a, b))


def sub(a, b):
    """a - b with NumPy broadcasting."""
    return Sub()(*_pair(a, b))


def mul(a, b):
    """a * b (elementwise) with NumPy broadcasting."""
    return Mul()(*_pair(a, b))


def div(a, b):
    """a / b (elementwise) with NumPy broadcasting."""
    return Div()(*_pair(a, b))


def neg(x):
    """-x."""
    return Neg()(x)


def pow(x, c):
    """x ** c. A Python-number exponent is a constant; a Tensor exponent is
    differentiated too, as exp(c log x) (so x must be positive)."""
    if isinstance(c, Tensor):
        return exp(mul(c, log(x)))
    return Pow(c)(x)


def exp(x):
    """e ** x."""
    return Exp()(x)


def log(x):
    """Natural logarithm (x > 0)."""
    return Log()(x)


def sqrt(x):
    """Square root (x > 0 for a finite gradient)."""
    return Sqrt()(x)


def abs(x):
    """|x|; its gradient at 0 is taken as 0 (like PyTorch)."""
    return Abs()(x)


def matmul(a, b):
    """Matrix product ``a @ b``: (..., n, k) @ (..., k, m) -> (..., n, m).

    Raises:
        ValueError: an operand has fewer than 2 dims, or the inner sizes differ.
    """
    a, b = _pair(a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: expected operands with >= 2 dims, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner sizes differ: a is {a.shape}, b is {b.shape} "
                         f"(expected b.shape[-2] == {a.shape[-1]})")
    return MatMul()(a, b)
