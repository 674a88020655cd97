"""Recurrent cells, GRU and LSTM, as composites of linear maps and gates.

Each is a few matmuls, sigmoids and tanhs, so its derivatives of every order
come for free. Weight layouts and gate orders match PyTorch's GRUCell and
LSTMCell, so a student can compare the two line by line.
"""
import math

import numpy as np

from .. import functional as F
from ..creation import zeros
from .init import uniform_
from .layers import _float_dtype, _placed, _positive_int
from .module import Module, Parameter


class _Cell(Module):
    def __init__(self, input_size, hidden_size, gates, bias, device, dtype):
        super().__init__()
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.bias = bool(bias)
        dt = _float_dtype(dtype)
        self.weight_ih = Parameter(np.empty((gates * hidden_size, input_size), dt))
        self.weight_hh = Parameter(np.empty((gates * hidden_size, hidden_size), dt))
        if bias:
            self.bias_ih = Parameter(np.empty(gates * hidden_size, dt))
            self.bias_hh = Parameter(np.empty(gates * hidden_size, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        _placed(self, device)

    def reset_parameters(self):
        """PyTorch's init of every RNN weight and bias: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            uniform_(p, -bound, bound)

    def _check(self, x, h, name):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"input: expected shape (N, {self.input_size}) or ({self.input_size},), got {x.shape}")
        if h is not None and tuple(h.shape) != (x.shape[0], self.hidden_size):
            raise ValueError(f"{name}: expected shape ({x.shape[0]}, {self.hidden_size}), got {h.shape}")

    def _gates(self, x, h):
        # x W_ihᵀ + b_ih and h W_hhᵀ + b_hh, each (N, gates * hidden_size)
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def _zeros(self, x):
        return zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


def _batched(t):
    """(t as (1, n), True) for an unbatched 1-D t, else (t, False); None passes through."""
    if t is None or t.ndim != 1:
        return t, False
    return t.reshape(1, t.shape[0]), True


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Cho et al. 2014), PyTorch's equations:

        r = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  candidate
        h' = (1 - z) ⊙ n + z ⊙ h

    Shapes: input (N, input_size), hx (N, hidden_size) or None (zeros) -> h' (N, hidden_size);
    unbatched (input_size,) and (hidden_size,) -> (hidden_size,), as ``torch.nn.GRUCell``.
    weight_ih (3 hidden, input), weight_hh (3 hidden, hidden), gates stacked r, z, n.
    Init: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter, as PyTorch.

    Raises:
        ValueError: input or hx has the wrong shape, or a size is not a positive int.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, 3, bias, device, dtype)

    def forward(self, input, hx=None):
        x, unbatched = _batched(input)
        h, _ = _batched(hx)
        self._check(x, h, "hx")
        h = self._zeros(x) if h is None else h
        gi, gh = self._gates(x, h)
        H = self.hidden_size
        r = F.sigmoid(gi[:, :H] + gh[:, :H])
        z = F.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = F.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h.reshape(H) if unbatched else h


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Hochreiter & Schmidhuber 1997), PyTorch's equations:

        i = σ(W_ii x + b_ii + W_hi h + b_hi)   input gate
        f = σ(W_if x + b_if + W_hf h + b_hf)   forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        o = σ(W_io x + b_io + W_ho h + b_ho)   output gate
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Shapes: input (N, input_size), hx = (h, c) each (N, hidden_size) or None (zeros) ->
    (h', c'); unbatched 1-D inputs give 1-D outputs, as ``torch.nn.LSTMCell``.
    weight_ih (4 hidden, input), weight_hh (4 hidden, hidden), gates i, f, g, o.
    Init: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter, as PyTorch.

    Raises:
        ValueError: input, h or c has the wrong shape, or a size is not a positive int.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, 4, bias, device, dtype)

    def forward(self, input, hx=None):
        x, unbatched = _batched(input)
        h, c = (None, None) if hx is None else hx
        h, _ = _batched(h)
        c, _ = _batched(c)
        self._check(x, h, "hx[0]")
        self._check(x, c, "hx[1]")
        h = self._zeros(x) if h is None else h
        c = self._zeros(x) if c is None else c
        gi, gh = self._gates(x, h)
        a, H = gi + gh, self.hidden_size
        i, f = F.sigmoid(a[:, :H]), F.sigmoid(a[:, H:2 * H])
        g, o = F.tanh(a[:, 2 * H:3 * H]), F.sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * F.tanh(c)
        return (h.reshape(H), c.reshape(H)) if unbatched else (h, c)
