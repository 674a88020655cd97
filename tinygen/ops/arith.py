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


def pow(input, exponent):
    """input ** exponent, as ``torch.pow``. A Python-number exponent is a constant;
    a Tensor exponent is differentiated too, as exp(exponent log input) (so the
    base must be positive). A number base with a Tensor exponent (``2 ** x``) works too."""
    if isinstance(exponent, Tensor):
        if not isinstance(input, Tensor):
            import math
            return exp(mul(exponent, math.log(input)))
        return exp(mul(exponent, log(input)))
    return Pow(exponent)(input)


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


def matmul(input, other):
    """Matrix product ``input @ other``, as ``torch.matmul``: (..., n, k) @ (..., k, m) -> (..., n, m)
    with the batch dims broadcast. A 1-D operand is a vector: (n, k) @ (k,) -> (n,),
    (k,) @ (k, m) -> (m,), (k,) @ (k,) -> a 0-d tensor (a size-1 dim is added, then removed).

    Raises:
        ValueError: a 0-d operand, or the inner sizes differ.
    """
    from .shape import reshape
    a, b = _pair(input, other)
    if a.ndim < 1 or b.ndim < 1:
        raise ValueError(f"matmul: expected operands with >= 1 dim, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner sizes differ: input is {a.shape}, other is {b.shape} "
                         f"(expected other's {'second-to-last' if b.ndim > 1 else 'only'} dim == {a.shape[-1]})")
    vec_a, vec_b = a.ndim == 1, b.ndim == 1
    y = MatMul()(reshape(a, (1,) + a.shape) if vec_a else a, reshape(b, b.shape + (1,)) if vec_b else b)
    if vec_a or vec_b:
        drop = ([y.ndim - 2] if vec_a else []) + ([y.ndim - 1] if vec_b else [])
        y = reshape(y, tuple(s for i, s in enumerate(y.shape) if i not in drop))
    return y


def bmm(input, mat2):
    """Batched matrix product of (B, n, k) and (B, k, m), as ``torch.bmm``.

    Raises:
        ValueError: an operand that is not 3-D, or batch or inner sizes that differ.
    """
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: expected (B, n, k) and (B, k, m) with the same B, got {input.shape} and {mat2.shape}")
    return matmul(input, mat2)
