"""The reverse-mode autodiff engine: ``Tensor``, ``Function`` and the backward pass.

A ``Function`` computes its forward on raw arrays and its backward on
*Tensors*, using tinygen ops. Because the backward is itself made of recorded
ops, running it with ``create_graph=True`` records a graph of the gradient,
which can be differentiated again (double backprop; the WGAN-GP penalty needs
it). Design after DeZero's ``core.py`` and Chainer's ``FunctionNode``.

Memory: a Function holds its inputs strongly and its outputs by weakref, so
the graph hangs off the final output and dies with it; no reference cycle
keeps an old graph alive. ``backward()`` without ``retain_graph`` also drops
each Function's inputs as soon as it has been differentiated.
"""
import contextlib
import heapq
import itertools
import weakref

import numpy as np

from .backend import as_device, device_of, get_array_module


class _Config:
    enable_grad = True


@contextlib.contextmanager
def _grad_mode(enabled):
    old, _Config.enable_grad = _Config.enable_grad, enabled
    try:
        yield
    finally:
        _Config.enable_grad = old


def no_grad():
    """Context manager (or decorator) inside which no graph is recorded.

    Use it for sampling, evaluation and optimizer updates. Tensors created
    inside have ``requires_grad=False``.
    """
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns graph recording back on (e.g. inside ``no_grad``)."""
    return _grad_mode(True)


def set_grad_enabled(mode):
    """Context manager that turns graph recording on (``mode=True``) or off, as
    ``torch.set_grad_enabled``: ``with tg.set_grad_enabled(training): ...``."""
    return _grad_mode(bool(mode))


def is_grad_enabled():
    """True when ops record a graph."""
    return _Config.enable_grad


# ---------------------------------------------------------------- Tensor
class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Args:
        data: a NumPy or CuPy array (kept as is, no copy).
        requires_grad: bool; if True, ops on this tensor are recorded and
            ``backward()`` fills ``.grad``.

    Attributes:
        data: the array, shape ``self.shape``.
        grad: a Tensor of the same shape, or None (set by ``backward()``).
        creator: the Function that produced this tensor, or None for a leaf.

    Use :func:`tinygen.tensor` to build one from Python data.
    """

    __array_priority__ = 200  # so that ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            raise TypeError("data: expected an array, got a Tensor (use .detach())")
        self.data = data
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.creator = None
        self.generation = 0

    # ------------------------------------------------ array-like properties
    @property
    def shape(self):
        """The dimensions, a tuple of ints (``self.data.shape``); ``()`` for a scalar."""
        return self.data.shape

    @property
    def ndim(self):
        """The number of dimensions, an int: ``len(self.shape)``."""
        return self.data.ndim

    def size(self, dim=None):
        """The dimensions as a tuple of ints (``self.shape``), or one of them, as ``torch.Tensor.size``.

        Args:
            dim: None for the whole shape, or an int (negative counts from the end).

        Raises:
            IndexError: ``dim`` is out of range for this tensor's dimensions.
        """
        if dim is None:
            return self.shape
        if not -self.ndim <= dim < max(self.ndim, 1):
            raise IndexError(f"dim: expected a value in [{-self.ndim}, {self.ndim - 1}], got {dim}")
        return self.shape[dim]

    def dim(self):
        """The number of dimensions, an int (``ndim``), as ``torch.Tensor.dim``."""
        return self.data.ndim

    def numel(self):
        """The number of elements, an int: the product of ``self.shape`` (1 for a scalar)."""
        return self.data.size

    @property
    def dtype(self):
        """The element type, a ``numpy.dtype`` (e.g. ``float32``; CuPy uses NumPy's dtypes)."""
        return self.data.dtype

    @property
    def device(self):
        """Where the data lives: ``"cuda"`` for a CuPy array, ``"cpu"`` otherwise. See :meth:`to`."""
        return device_of(self.data)

    @property
    def is_cuda(self):
        """True when the data lives on the GPU (a CuPy array)."""
        return self.device == "cuda"

    @property
    def grad_fn(self):
        """PyTorch's name for :attr:`creator`: the Function that produced this tensor, or None."""
        return self.creator

    @property
    def is_leaf(self):
        """True for a tensor no recorded op produced (user-made, a Parameter, or made
        under ``no_grad``); ``backward()`` fills ``.grad`` only on leaves."""
        return self.creator is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.numpy(), prefix="tensor(", precision=4, threshold=20)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.device == "cuda":
            extra += ", device='cuda'"
        return f"tensor({body}, dtype={self.dtype}{extra})"

    def numpy(self):
        """The data as a NumPy array (copied off the GPU if needed)."""
        return as_device(self.data, "cpu")

    def item(self):
        """The value of a one-element tensor as a Python number.

        Raises:
            ValueError: the tensor has more than one element.
        """
        if self.data.size != 1:
            raise ValueError(f"item: expected a one-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists of numbers; a scalar gives a number."""
        return self.numpy().tolist()

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; "
                               "use .any() or .all()")
        return bool(self.data.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError(f"index: only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    # Tensors compare elementwise (``==`` gives a bool tensor, as in PyTorch), so
    # hashing stays by identity: Parameters are dict keys (the optimizer's state).
    __hash__ = object.__hash__

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag=True):
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if self.creator is not None:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self):
        """Drop the stored gradient (``self.grad = None``)."""
        self.grad = None

    # ------------------------------------------------ backward
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            gradient: the cotangent, a Tensor or array of ``self.shape``; may be
                omitted only for a one-element tensor (then it is 1).
            retain_graph: keep the graph for another backward; defaults to
                ``create_graph``.
            create_graph: record the backward itself, so that the gradients
                can be differentiated again.

        Raises:
            RuntimeError: self does not require grad, or the graph was freed
                by an earlier backward.
            ValueError: ``gradient`` has the wrong shape, or is missing for a
                non-scalar output.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if retain_graph is None:
            retain_graph = create_graph
        leaf_grads = _backward_to_leaves(self, gradient, retain_graph, create_graph)
        for leaf, g in leaf_grads:
            if not create_graph:
                g = g.detach()
            leaf.grad = g if leaf.grad is None else leaf.grad + g

    # Operators and methods (+, @, reshape, ``to``, ``astype``, ...) are
    # attached in tinygen/ops/__init__.py, next to the ops they call.


class Function:
    """One differentiable op: a forward on arrays, a backward on Tensors.

    Subclasses implement:
        forward(self, *arrays) -> array or tuple of arrays
        backward(self, *grad_outputs) -> Tensor or tuple (one per input,
            None where ``self.needs_grad[i]`` is False)

    Inside ``backward``, ``self.inputs`` are the input Tensors and
    ``self.output(i)`` the i-th output Tensor. Write the backward only with
    tinygen ops so that it is differentiable in turn.
    """

    inputs = None
    _counter = itertools.count()

    def __call__(self, *inputs):
        """Run ``forward`` on the inputs' arrays and, when grad is enabled and
        an input requires grad, record this Function as the outputs' creator.

        Returns:
            A Tensor, or a list of Tensors for a multi-output Function.

        Raises:
            ValueError: the inputs mix floating dtypes (e.g. a float32
                parameter and a float64 input). NumPy would silently upcast
                the result, and with it the whole model's gradients and
                optimizer state, to float64. (An integer or bool input is
                cast to the floating input's dtype instead, as in PyTorch.)
        """
        inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        inputs = _check_float_dtypes(self, inputs)
        ys = self.forward(*[x.data for x in inputs])
        ys = ys if isinstance(ys, tuple) else (ys,)
        outputs = [Tensor(y) for y in ys]
        if _Config.enable_grad and any(x.requires_grad for x in inputs):
            self.seq = next(Function._counter)  # creation order: a deterministic tie-break
            self.generation = max(x.generation for x in inputs)
            for y in outputs:
                y.creator, y.requires_grad, y.generation = self, True, self.generation + 1
            self.inputs = inputs
            self.needs_grad = tuple(x.requires_grad for x in inputs)
            self._outputs = [weakref.ref(y) for y in outputs]
            self._output_meta = [(y.shape, y.dtype) for y in ys]
        return outputs[0] if len(outputs) == 1 else outputs

    def output(self, i=0):
        """The i-th output Tensor (alive whenever a gradient flows into it)."""
        return self._outputs[i]()

    def forward(self, *arrays):
        """Compute the outputs from the input arrays (NumPy or CuPy, never Tensors).

        Returns an array, or a tuple of arrays for several outputs. Save here,
        on ``self``, whatever constant the backward needs (e.g. a mask).
        """
        raise NotImplementedError

    def backward(self, *grad_outputs):
        """The vector-Jacobian product: one Tensor cotangent per output in, one
        gradient per input out (a Tensor of that input's shape and dtype, or None
        where ``self.needs_grad[i]`` is False). Written in tinygen ops, so that it
        is differentiable in turn."""
        raise NotImplementedError


def _describe(x):
    """What ``x`` is, for an error message: ``"shape (2, 3)"`` for a Tensor; for
    anything else its type too, e.g. ``"a numpy.ndarray of shape (2, 3), not a
    Tensor (wrap it with tinygen.tensor)"``, so that a NumPy array passed
    where a Tensor belongs is named as the cause."""
    if isinstance(x, Tensor):
        return f"shape {x.shape}"
    kind = f"{type(x).__module__}.{type(x).__name__}" if type(x).__module__ != "builtins" else type(x).__name__
    shape = getattr(x, "shape", None)
    return f"a {kind}" + (f" of shape {tuple(shape)}" if shape is not None else "") + \
        ", not a Tensor (wrap it with tinygen.tensor)"


def _check_float_dtypes(f, inputs):
    """The inputs of ``f``, checked for one floating dtype, with integer and bool
    inputs that would promote it (NumPy: float32 * int64 -> float64) cast to it,
    as PyTorch's type promotion does (the floating operand's dtype wins).

    Raises:
        ValueError: two floating inputs have different dtypes.
    """
    ref = next((i for i, x in enumerate(inputs) if x.dtype.kind == "f"), None)
    if ref is None:
        return inputs
    dtype = inputs[ref].dtype
    out = list(inputs)
    for i, x in enumerate(inputs):
        if x.dtype == dtype:
            continue
        if x.dtype.kind == "f":
            raise ValueError(
                f"{type(f).__name__}: inputs[{i}]: expected dtype {dtype} "
                f"(the dtype of inputs[{ref}], shape {inputs[ref].shape}), got {x.dtype} "
                f"(shape {x.shape}); tinygen does not upcast silently, cast one with .to(dtype) or .double()")
        if x.dtype.kind in "biu" and np.result_type(x.dtype, dtype) != dtype and not x.requires_grad:
            out[i] = Tensor(x.data.astype(dtype))
    return out


def _as_grad(g, like):
    """Validate a user-supplied cotangent for ``like`` and wrap it as a Tensor of its dtype."""
    if g is None:
        if like.numel() != 1:
            raise ValueError(f"gradient: can be omitted only for a one-element output, "
                             f"got output shape {like.shape}")
        xp = get_array_module(like.data)
        return Tensor(xp.ones(like.shape, dtype=like.dtype))
    if not isinstance(g, Tensor):
        xp = get_array_module(like.data)
        g = Tensor(xp.asarray(g, dtype=like.dtype))
    if g.shape != like.shape:
        raise ValueError(f"gradient: expected shape {like.shape} (the output's), got {g.shape}")
    if g.dtype != like.dtype:  # as PyTorch: the cotangent takes the output's dtype
        g = g.to(like.dtype)
    return g


def _needed_functions(roots, targets):
    """Functions on some path from ``roots`` back to a tensor in ``targets``."""
    target_ids = {id(t) for t in targets}
    needed, state = set(), {}
    # Iterative post-order DFS (graphs can be deeper than Python's recursion limit).
    stack = [(r.creator, False) for r in roots if r.creator is not None]
    while stack:
        f, expanded = stack.pop()
        if expanded:
            if any(id(x) in target_ids or (x.creator is not None and x.creator in needed)
                   for x in f.inputs):
                needed.add(f)
            continue
        if f in state:
            continue
        state[f] = True
        stack.append((f, True))
        for x in f.inputs or ():
            if x.creator is not None and x.creator not in state:
                stack.append((x.creator, False))
    return needed


def _ready_grads(f, grads, consume):
    """``f``'s outputs and their cotangents, one Tensor each (zeros where none flowed in).

    ``consume(y)`` says whether output y's gradient may be dropped from ``grads``
    once handed over (an intermediate's is not needed again). The caller keeps
    the returned outputs alive while ``f.backward`` runs: ``f.output(i)`` is only
    a weak reference, and the ``grads`` entry may have been the last strong one."""
    outputs, gys = [], []
    for i, ref in enumerate(f._outputs):
        y = ref()
        outputs.append(y)
        entry = grads.get(id(y)) if y is not None else None
        if entry is None:
            xp = get_array_module(f.inputs[0].data)
            shape, dtype = f._output_meta[i]
            gys.append(Tensor(xp.zeros(shape, dtype=dtype)))
        else:
            gys.append(entry[1])
            if consume(y):
                del grads[id(y)]
    return outputs, gys


def _input_grads(f, gys, needs_grad):
    """Call ``f.backward`` for the inputs flagged in ``needs_grad``; yield (input, grad) pairs.

    ``f.needs_grad`` is what the op's backward reads to skip work, so it is set
    to ``needs_grad`` for the call and restored after it."""
    recorded, f.needs_grad = f.needs_grad, needs_grad
    try:
        gxs = f.backward(*gys)
    finally:
        f.needs_grad = recorded
    gxs = gxs if isinstance(gxs, tuple) else (gxs,)
    for x, gx, need in zip(f.inputs, gxs, needs_grad):
        if gx is None or not need:
            continue
        if gx.shape != x.shape:  # a bug in an op, not in user code
            raise RuntimeError(f"{type(f).__name__}.backward returned a gradient of "
                               f"shape {gx.shape} for an input of shape {x.shape}")
        yield x, gx


class _Queue:
    """The Functions still to differentiate, latest generation first.

    Among equal generations the latest created comes first. A fixed order makes
    gradient sums, and so whole training runs, bit-reproducible."""

    def __init__(self):
        self.heap, self.seen = [], set()

    def push(self, f):
        if f not in self.seen:
            self.seen.add(f)
            heapq.heappush(self.heap, (-f.generation, -f.seq, f))

    def pop(self):
        f = heapq.heappop(self.heap)[-1]
        if f.inputs is None:
            raise RuntimeError("backward: the graph was already freed by an earlier backward; "
                               "pass retain_graph=True to the first call")
        return f

    def __bool__(self):
        return bool(self.heap)


def _accumulate(grads, t, g):
    old = grads.get(id(t))
    grads[id(t)] = (t, g if old is None else old[1] + g)


def _free(f, retain_graph):
    if not retain_graph:  # drop the inputs: the graph dies as the backward walks it
        f.inputs = None


def _backward_to_leaves(root, gradient, retain_graph, create_graph):
    """Reverse mode from ``root`` through the whole graph: ``[(leaf, grad)]`` for every
    leaf that requires grad (what :meth:`Tensor.backward` accumulates into ``.grad``)."""
    grads, leaves, queue = {}, {}, _Queue()
    with (enable_grad() if create_graph else no_grad()):
        _accumulate(grads, root, _as_grad(gradient, root))
        if root.creator is None:
            leaves[id(root)] = root
        else:
            queue.push(root.creator)
        while queue:
            f = queue.pop()
            f_outputs, gys = _ready_grads(f, grads, consume=lambda y: True)
            for x, gx in _input_grads(f, gys, f.needs_grad):
                _accumulate(grads, x, gx)
                if x.creator is None:
                    leaves[id(x)] = x
                else:
                    queue.push(x.creator)
            _free(f, retain_graph)
            del f_outputs  # alive until f.backward has run (see _ready_grads)
    return [(t, grads[i][1]) for i, t in leaves.items() if t.requires_grad and i in grads]


def _backward_to_inputs(outputs, grad_outputs, inputs, retain_graph, create_graph):
    """Reverse mode from ``outputs`` to ``inputs`` only: a list of grads, one per input
    (None where it is unused). What :func:`grad` returns.

    Only the Functions on a path from an output back to an input run, and each
    computes only the input gradients that lead to a wanted input: a gradient
    penalty's grad with respect to x skips every weight gradient of the critic."""
    needed = _needed_functions(outputs, inputs)
    wanted = {id(t) for t in inputs}
    grads, queue = {}, _Queue()
    with (enable_grad() if create_graph else no_grad()):
        for y, g in zip(outputs, grad_outputs):
            _accumulate(grads, y, _as_grad(g, y))
            if y.creator in needed:
                queue.push(y.creator)
        while queue:
            f = queue.pop()
            f_outputs, gys = _ready_grads(f, grads, consume=lambda y: id(y) not in wanted)
            leads_to_input = tuple(x.requires_grad and (id(x) in wanted or x.creator in needed)
                                   for x in f.inputs)
            for x, gx in _input_grads(f, gys, leads_to_input):
                _accumulate(grads, x, gx)
                if x.creator in needed:
                    queue.push(x.creator)
            _free(f, retain_graph)
            del f_outputs  # alive until f.backward has run (see _ready_grads)
    return [grads[id(t)][1] if id(t) in grads else None for t in inputs]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, like ``torch.autograd.grad``.

    Nothing is written to ``.grad``. Only the part of the graph between
    ``outputs`` and ``inputs`` is differentiated.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad.
        grad_outputs: cotangents, one per output (Tensor, array or None for a
            one-element output).
        retain_graph: keep the graph; defaults to ``create_graph``.
        create_graph: record the backward so that the result can be
            differentiated again (e.g. a gradient penalty, Gulrajani et al.
            2017, Algorithm 1, line 7).
        allow_unused: return None for an input the outputs do not depend on,
            instead of raising.

    Returns:
        A tuple of Tensors, one per input, each of that input's shape.

    Raises:
        ValueError: an input does not require grad, or is unused and
            ``allow_unused`` is False.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"inputs[{i}]: expected a tensor that requires grad, "
                             f"got one with requires_grad=False (shape {x.shape})")
    if retain_graph is None:
        retain_graph = create_graph
    results = _backward_to_inputs(outputs, list(grad_outputs), inputs, retain_graph, create_graph)
    out = []
    for i, (x, g) in enumerate(zip(inputs, results)):
        if g is None and not allow_unused:
            raise ValueError(f"inputs[{i}] (shape {x.shape}) was not used to compute outputs; "
                             "pass allow_unused=True to get None for it")
        out.append(g if g is None or create_graph else g.detach())
    return tuple(out)
