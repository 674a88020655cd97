"""Indexing with arrays that are not Tensors, and mixed floating dtypes.

``getitem`` must unwrap only Tensors: a CuPy array's ``.data`` is a memory
pointer, and NumPy arrays and scalars have a ``.data`` buffer too. And no op
may silently upcast a float32 model to float64 because one input is float64.
"""
import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from conftest import rand64
from tinygen import nn


class DeviceArrayLike:
    """Stands in for a CuPy array on a machine without a GPU: NumPy indexes with
    it through ``__array__``, and its ``.data`` is not the values (CuPy's is a
    ``MemoryPointer``)."""

    def __init__(self, values):
        self.values = np.asarray(values)
        self.data = object()

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


INDICES = {
    "numpy int64 scalar": np.int64(2),
    "numpy bool scalar": np.bool_(True),
    "numpy int array": np.array([0, 2, 2]),
    "numpy bool array": np.array([True, False, True, True]),
    "tuple of numpy scalars": (np.int64(1), np.int64(2)),
    "tuple with a numpy array": (np.array([3, 0]), slice(None, 2)),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_getitem_with_numpy_indices(name, device):
    index = INDICES[name]
    x = rand64(4, 3, device=device)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), x.numpy()[index])
    v = np.random.default_rng(1).standard_normal(y.shape)
    g, = tg.grad(y, x, grad_outputs=tg.tensor(v, dtype="float64", device=device))
    expected = np.zeros((4, 3))
    np.add.at(expected, index, v)
    np.testing.assert_array_equal(g.numpy(), expected)


def test_getitem_with_tensors_inside_a_tuple(device):
    x = rand64(4, 3, device=device)
    rows = tg.tensor(np.array([3, 1, 3]), device=device)
    np.testing.assert_array_equal(x[rows, 1:].numpy(), x.numpy()[[3, 1, 3], 1:])


def test_getitem_with_a_device_array_uses_its_values_not_its_data():
    # Before the fix, anything with a .data attribute was taken for a Tensor
    # and indexed with that attribute: nn.Embedding on --device cuda indexed
    # the weight with a CuPy memory pointer.
    x = rand64(5, 2)
    index = DeviceArrayLike([4, 0, 4])
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[[4, 0, 4]])
    g, = tg.grad(x[index], x, grad_outputs=tg.tensor(np.ones((3, 2)), dtype="float64"))
    np.testing.assert_array_equal(g.numpy()[:, 0], [1, 0, 0, 0, 2])


def test_embedding_with_numpy_scalar_ids(device):
    e = nn.Embedding(6, 3).to(device)
    np.testing.assert_array_equal(e(np.int64(4)).numpy(), e.weight.numpy()[4])
    np.testing.assert_array_equal(e(np.array([5, 0])).numpy(), e.weight.numpy()[[5, 0]])


# ------------------------------------------------------------------ mixed dtypes
def test_linear_refuses_a_float64_input_to_a_float32_layer(device):
    layer = nn.Linear(4, 3).to(device)
    x64 = tg.tensor(np.ones((2, 4)), dtype="float64", device=device)
    with pytest.raises(ValueError, match=r"input: expected dtype float32 \(weight's\), got float64"):
        layer(x64)
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\) and dtype float64"):
        F.linear(x64, layer.weight.double(), layer.bias)
    # Cast either side and it works, in that dtype.
    assert layer(x64.float()).dtype == np.float32
    assert layer.double()(x64).dtype == np.float64


def test_every_op_refuses_mixed_floating_dtypes(device):
    a = tg.tensor(np.ones((2, 3)), dtype="float32", device=device, requires_grad=True)
    b = tg.tensor(np.ones((2, 3)), dtype="float64", device=device)
    pattern = r"inputs\[1\]: expected dtype float32 \(the dtype of inputs\[0\].*got float64"
    for op in (lambda: a + b, lambda: a * b, lambda: b.__rsub__(a), lambda: a / b,
               lambda: a @ b.T, lambda: tg.cat([a, b]), lambda: tg.where(a.data > 0, a, b),
               lambda: F.mse_loss(a, b), lambda: F.binary_cross_entropy(a * 0.5, b * 0.5)):
        with pytest.raises(ValueError, match=pattern):
            op()
    # Not a mix of floats: an integer or bool tensor takes the float's dtype (PyTorch's
    # promotion; NumPy alone would make float32 * int64 float64), and so do numbers.
    for dtype in ("int64", "int32", "uint8", "bool"):
        c = tg.tensor(np.ones((2, 3), dtype=dtype), device=device)
        assert (a * c).dtype == (c - a).dtype == np.float32, dtype
    assert (a * 2.5).dtype == (a + np.float64(1.0)).dtype == np.float32


def test_float32_model_stays_float32_through_backward(device):
    # A float64 cotangent is cast to the output's dtype (as PyTorch does), so
    # the backward pass never mixes dtypes either.
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    y = model(tg.tensor(np.ones((3, 4)), dtype="float32", device=device))
    y.backward(tg.tensor(np.ones((3, 2)), dtype="float64", device=device))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
