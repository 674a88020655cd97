"""Padding, PyTorch's ``F.pad``: constant, reflect, replicate and circular.

Constant padding is a Function whose backward crops the gradient (a slice),
and a slice's backward pads with zeros again, so derivatives of every order
stay in this pair. Negative pads crop. The other modes read each output
element from one input element: an integer-array gather (``getitem``), whose
backward adds the gradients of the copies back (and whose own backward is
the gather again).
"""
from ..autograd import Function
from ..backend import get_array_module
from .shape import getitem


class ConstantPad(Function):
    """y = x surrounded by ``value``: widths ((before, after), ...) per dim, all >= 0.

    dy/dx is the identity on the inner block, so the backward is the slice
    gy[inner] (``getitem``), whose own backward pads with zeros.
    """

    def __init__(self, widths, value):
        self.widths, self.value = tuple(widths), value

    def forward(self, x):
        return get_array_module(x).pad(x, self.widths, constant_values=self.value)

    def backward(self, gy):
        inner = tuple(slice(b, b + n) for (b, _), n in zip(self.widths, self.inputs[0].shape))
        return getitem(gy, inner)


def _source_index(xp, n, before, after, mode):
    """For a dim of size n padded by (before, after): which input index each output reads."""
    j = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    # reflect (mirror about the edge element, which is not repeated)
    j = xp.abs(j)
    return xp.where(j > n - 1, 2 * (n - 1) - j, j)


def check_pad(input, pad, mode, value):
    """Validate ``F.pad``'s arguments; returns the pairs ((before, after), ...) for all dims, first dim first.

    Raises:
        ValueError: ``pad`` is not an even-length sequence of ints covering at
            most input.ndim dims; an unknown ``mode``; a value with a mode other
            than "constant"; a negative pad outside "constant"; a reflect pad
            not smaller than its dim, or a circular pad larger than its dim.
    """
    if isinstance(pad, int) or not all(isinstance(v, int) for v in pad) or len(pad) % 2:
        raise ValueError(f"pad: expected a sequence of 2k ints (last dim first: left, right, top, "
                         f"bottom, ...), got {pad!r}")
    pad = tuple(int(v) for v in pad)
    k = len(pad) // 2
    if k > input.ndim:
        raise ValueError(f"pad: {len(pad)} values pad {k} dims, but input has shape {input.shape}")
    modes = ("constant", "reflect", "replicate", "circular")
    if mode not in modes:
        raise ValueError(f"mode: expected one of {modes}, got {mode!r}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"value: only mode 'constant' takes a fill value, got value={value!r} with mode {mode!r}")
    pairs = [(0, 0)] * input.ndim
    for i in range(k):
        d = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        n = input.shape[d]
        if mode != "constant" and min(before, after) < 0:
            raise ValueError(f"pad: negative pads crop only in mode 'constant', got {pad} with mode {mode!r}")
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(f"pad: reflect padding must be smaller than the padded dim, got {(before, after)} "
                             f"for dim {d} of size {n} (input shape {input.shape})")
        if mode == "circular" and max(before, after) > n:
            raise ValueError(f"pad: circular padding must be at most the padded dim, got {(before, after)} "
                             f"for dim {d} of size {n} (input shape {input.shape})")
        if mode == "constant" and n + before + after < 0:
            raise ValueError(f"pad: cropping {(before, after)} leaves a negative size of dim {d} "
                             f"(size {n}, input shape {input.shape})")
        pairs[d] = (before, after)
    return pairs


def pad(input, pairs, mode="constant", value=None):
    """Pad with validated ``pairs`` ((before, after) per dim); see ``functional.pad``."""
    if mode == "constant":
        if any(b < 0 or a < 0 for b, a in pairs):  # crop first
            input = getitem(input, tuple(slice(max(-b, 0), n - max(-a, 0))
                                         for (b, a), n in zip(pairs, input.shape)))
            pairs = [(max(b, 0), max(a, 0)) for b, a in pairs]
        if not any(b or a for b, a in pairs):
            return input
        return ConstantPad(pairs, 0 if value is None else value)(input)
    xp = get_array_module(input.data)
    for d, (before, after) in enumerate(pairs):
        if before or after:
            index = (slice(None),) * d + (_source_index(xp, input.shape[d], before, after, mode),)
            input = getitem(input, index)
    return input
