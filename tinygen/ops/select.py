"""Selecting entries: ``max`` and ``min`` in PyTorch's three forms.

Along a dim they return the values and the indices of the selected entries.
The values are taken by integer-array indexing, so the gradient goes to
exactly the selected entry (the first on a tie), as in PyTorch; ``amax``
(in ``reduce.py``) splits it between ties instead.
"""
import collections

from ..autograd import Tensor
from ..backend import get_array_module
from ._util import normalize_axis
from .activation import maximum, minimum
from .reduce import _index_tensor, amax, amin, argmax, argmin
from .shape import getitem, reshape

MaxMin = collections.namedtuple("MaxMin", ["values", "indices"])
MaxMin.__doc__ = """What ``max(input, dim)`` and ``min(input, dim)`` return, as PyTorch's
``torch.return_types.max``: ``values`` (differentiable) and ``indices`` (int64)."""


def _take_along(input, indices, dim, keepdim):
    """input's entries at ``indices`` (keepdim-shaped, int) along ``dim``, by integer-array
    indexing: differentiable, and the gradient goes to exactly those entries."""
    xp = get_array_module(input.data)
    d = normalize_axis(dim, input.ndim)[0]
    index = tuple(indices if k == d else xp.arange(s).reshape([-1 if j == k else 1 for j in range(input.ndim)])
                  for k, s in enumerate(input.shape))
    values = getitem(input, index)  # keepdim shape
    if not keepdim:
        values = reshape(values, [s for k, s in enumerate(values.shape) if k != d])
    return values


def _select(input, dim, keepdim, elementwise, whole, arg):
    """The three forms of max/min, with ``elementwise`` (maximum/minimum), ``whole``
    (amax/amin) and ``arg`` (argmax/argmin) the pieces that differ."""
    if isinstance(dim, Tensor):
        return elementwise(input, dim)
    if dim is None:
        return whole(input)
    i = arg(input, dim, keepdim=True)
    values = _take_along(input, i.data, dim, keepdim)
    return MaxMin(values, i if keepdim else _index_tensor(i.data.squeeze(normalize_axis(dim, input.ndim)[0])))


def max(input, dim=None, keepdim=False):
    """The maximum, three ways, as ``torch.max``:

    * ``max(input)``: the largest element (a 0-d tensor; ties share the gradient evenly);
    * ``max(input, dim, keepdim=False)``: a ``(values, indices)`` named tuple along
      ``dim``; the gradient goes to the selected (first maximal) entry;
    * ``max(input, other)`` with a Tensor ``other``: the elementwise :func:`maximum`.

    Raises:
        ValueError: ``dim`` out of range.
    """
    return _select(input, dim, keepdim, maximum, amax, argmax)


def min(input, dim=None, keepdim=False):
    """The minimum, as ``torch.min``: the three forms of :func:`max`, with the smallest entries."""
    return _select(input, dim, keepdim, minimum, amin, argmin)
