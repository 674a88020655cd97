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
from .module import Module, Parameter


class _Cell(Module):
    def __init__(self, input_size, hidden_size, gates, bias):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = Parameter(np.empty((gates * hidden_size, input_size), np.float32))
        self.weight_hh = Parameter(np.empty((gates * hidden_size, hidden_size), np.float32))
        self.bias_ih = Parameter(np.empty(gates * hidden_size, np.float32)) if bias else None
        self.bias_hh = Parameter(np.empty(gates * hidden_size, np.float32)) if bias else None
        bound = 1.0 / math.sqrt(hidden_size)  # PyTorch's init for every RNN weight
        for p in self.parameters():
            uniform_(p, -bound, bound)

    def _check(self, x, h):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x: expected shape (N, {self.input_size}), got {x.shape}")
        if h is not None and h.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"h: expected shape ({x.shape[0]}, {self.hidden_size}), got {h.shape}")

    def _gates(self, x, h):
        # x W_ihᵀ + b_ih and h W_hhᵀ + b_hh, each (N, gates * hidden_size)
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def _zeros(self, x):
        return zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Cho et al. 2014), PyTorch's equations:

        r = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  candidate
        h' = (1 - z) ⊙ n + z ⊙ h

    Shapes: x (N, input_size), h (N, hidden_size) or None (zeros) -> h' (N, hidden_size).
    weight_ih (3 hidden, input), weight_hh (3 hidden, hidden), gates stacked r, z, n.

    Raises:
        ValueError: x or h has the wrong shape.
    """

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, 3, bias)

    def forward(self, x, h=None):
        self._check(x, h)
        h = self._zeros(x) if h is None else h
        gi, gh = self._gates(x, h)
        H = self.hidden_size
        r = F.sigmoid(gi[:, :H] + gh[:, :H])
        z = F.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = F.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Hochreiter & Schmidhuber 1997), PyTorch's equations:

        i = σ(W_ii x + b_ii + W_hi h + b_hi)   input gate
        f = σ(W_if x + b_if + W_hf h + b_hf)   forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        o = σ(W_io x + b_io + W_ho h + b_ho)   output gate
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Shapes: x (N, input_size), state (h, c) each (N, hidden_size) or None ->
    (h', c'). weight_ih (4 hidden, input), weight_hh (4 hidden, hidden), gates i, f, g, o.

    Raises:
        ValueError: x, h or c has the wrong shape.
    """

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, 4, bias)

    def forward(self, x, state=None):
        h, c = (None, None) if state is None else state
        self._check(x, h)
        self._check(x, c)
        h = self._zeros(x) if h is None else h
        c = self._zeros(x) if c is None else c
        gi, gh = self._gates(x, h)
        a, H = gi + gh, self.hidden_size
        i, f = F.sigmoid(a[:, :H]), F.sigmoid(a[:, H:2 * H])
        g, o = F.tanh(a[:, 2 * H:3 * H]), F.sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        return o * F.tanh(c), c
