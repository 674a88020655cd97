"""Checkpoints: models, optimizers, step and RNG state in one ``.npz``, written
atomically (``fileio.atomic_open``): a run killed mid-save leaves the previous
checkpoint intact, never a half-written one.
"""
import json
import os

import numpy as np

from ..backend import get_rng_state, set_rng_state
from .fileio import atomic_open


def save_checkpoint(path, step, models, optimizers=None, extra=None):
    """Save a resumable training state.

    Args:
        path: file name (``.npz``); parent folders are created.
        step: int, the number of completed training steps.
        models: dict name -> Module. optimizers: dict name -> Optimizer (its
            ``state_dict()``: hyperparameters as JSON, state arrays as arrays).
        extra: JSON-serialisable dict (e.g. the data iterator's state, the
            best score); numpy arrays inside it are stored as arrays.
    """
    arrays = {}
    for name, m in models.items():
        for k, v in m.state_dict().items():
            arrays[f"model/{name}/{k}"] = v
    optim_meta = {}
    for name, opt in (optimizers or {}).items():
        sd = opt.state_dict()  # PyTorch's layout: {"state": {index: {...}}, "param_groups": [...]}
        optim_meta[name] = {"param_groups": sd["param_groups"]}
        for i, s in sd["state"].items():
            for k, v in s.items():
                arrays[f"optim/{name}/{i}/{k}"] = np.asarray(v)
    extra = dict(extra or {})
    for k in [k for k, v in extra.items() if isinstance(v, np.ndarray)]:
        arrays[f"extra/{k}"] = extra.pop(k)
    meta = {"step": int(step), "rng": get_rng_state(), "optim": optim_meta, "extra": extra}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_open(path) as f:
        np.savez(f, **arrays)


def load_checkpoint(path, models, optimizers=None):
    """Restore what :func:`save_checkpoint` wrote, in place, including the global RNG.

    Returns:
        dict with ``step`` (int) and ``extra`` (the dict that was saved).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a tinygen checkpoint or does not match the
            models or optimizers (missing keys, wrong shapes, another
            optimizer's hyperparameters or parameter groups). Nothing is changed then: every
            model and optimizer state is checked before any is loaded.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    try:  # read and verify every array before touching any model (all or nothing)
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
        meta = json.loads(bytes(data.pop("meta")).decode())
    except Exception as e:
        raise ValueError(f"path: {path} is not a readable tinygen checkpoint ({type(e).__name__}: {e})") from e
    states = {}
    for name, m in models.items():
        prefix = f"model/{name}/"
        states[name] = {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}
        if not states[name]:
            raise ValueError(f"models: checkpoint {path} has no model named {name!r}")
        try:
            m.check_state_dict(states[name])
        except (KeyError, ValueError) as e:
            raise ValueError(f"models[{name!r}]: checkpoint does not match: {e}") from e
    optim_states = {}
    for name, opt in (optimizers or {}).items():
        om = meta["optim"].get(name)
        if om is None:
            raise ValueError(f"optimizers: checkpoint {path} has no optimizer named {name!r}")
        if "param_groups" not in om:
            raise ValueError(f"optimizers[{name!r}]: checkpoint {path} holds an optimizer state in the "
                             f"layout of an older tinygen (no param_groups); it cannot be resumed")
        per_param = {}
        prefix = f"optim/{name}/"
        for k, v in data.items():
            if k.startswith(prefix):
                i, key = k[len(prefix):].split("/", 1)
                per_param.setdefault(int(i), {})[key] = v
        # (a tuple such as Adam's betas came back from JSON as a list: load_state_dict restores it)
        optim_states[name] = {"state": per_param, "param_groups": om["param_groups"]}
        try:
            opt.check_state_dict(optim_states[name])
        except (KeyError, ValueError) as e:
            raise ValueError(f"optimizers[{name!r}]: checkpoint does not match: {e}") from e
    # Everything matched: only now change models, optimizers and the RNG.
    for name, m in models.items():
        m.load_state_dict(states[name])
    for name, opt in (optimizers or {}).items():
        opt.load_state_dict(optim_states[name])
    set_rng_state(meta["rng"])
    extra = dict(meta["extra"])
    extra.update({k[len("extra/"):]: v for k, v in data.items() if k.startswith("extra/")})
    return {"step": meta["step"], "extra": extra}
