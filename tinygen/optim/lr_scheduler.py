"""Learning-rate schedules, as ``torch.optim.lr_scheduler``.

A scheduler sets ``group["lr"]`` of its optimizer's parameter groups. Call
``scheduler.step()`` after each ``optimizer.step()``. Its position is
``last_epoch`` (the number of ``step()`` calls); save ``state_dict()`` with
the optimizer's to resume a schedule where it stopped.
"""
import warnings

import numpy as np


class LRScheduler:
    """Base class, as ``torch.optim.lr_scheduler.LRScheduler``.

    Args:
        optimizer: an Optimizer.
        last_epoch: -1 to start a new schedule: each group gets ``initial_lr`` = its
            current lr (kept if already set) and the scheduler takes its first step
            to epoch 0. Another value resumes at that epoch and needs every group to
            have ``initial_lr`` already (e.g. from a loaded optimizer state).

    Attributes:
        base_lrs: list of each group's ``initial_lr``.
        last_epoch: int, the number of ``step()`` calls since epoch 0.

    Raises:
        TypeError: ``optimizer`` has no ``param_groups``.
        KeyError: ``last_epoch`` != -1 and a group lacks ``initial_lr`` (as PyTorch).
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"optimizer.param_groups[{i}]: 'initial_lr' is not set, which resuming "
                                   f"with last_epoch={last_epoch} needs")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self):
        """The learning rate of each group at epoch ``last_epoch`` (a list of floats)."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last :meth:`step` set, one per group (a list of floats)."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``, deprecated in PyTorch) and set each
        group's lr for the optimizer's next step."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
        else:
            warnings.warn("step(epoch) is deprecated in PyTorch; call step() once per epoch", UserWarning,
                          stacklevel=2)
            self.last_epoch = epoch
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer, as PyTorch: a dict of ints, floats and lists
        (JSON-ready, so ``fit(state={"schedule": scheduler})`` checkpoints it)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (the position and the base rates).

        Raises:
            ValueError: ``state_dict`` lacks ``last_epoch`` or ``base_lrs``, or its number
                of groups differs from the optimizer's.
        """
        missing = [k for k in ("last_epoch", "base_lrs") if k not in state_dict]
        if missing:
            raise ValueError(f"state_dict: expected the keys {missing} of a {type(self).__name__} state")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"state_dict['base_lrs']: expected {len(self.optimizer.param_groups)} values "
                             f"(one per parameter group), got {len(state_dict['base_lrs'])}")
        self.__dict__.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in state_dict.items()})


class CosineAnnealingLR(LRScheduler):
    """Cosine decay of each group's learning rate (Loshchilov & Hutter 2017, eq. 5,
    without restarts), as ``torch.optim.lr_scheduler.CosineAnnealingLR``:

        lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2,   t = last_epoch

    base_lr is the group's ``initial_lr``. After T_max the cosine goes on (the lr
    rises again), as in PyTorch. tinygen evaluates this closed form at every
    step; PyTorch updates the lr recursively from the previous one, which gives
    the same values up to rounding but also composes with other schedulers
    changing the lr, which this does not.

    Args:
        optimizer: an Optimizer.
        T_max: int >= 1, the number of steps from base_lr down to eta_min.
        eta_min: float >= 0, the minimum learning rate.
        last_epoch: -1 for a new schedule; see :class:`LRScheduler`.

    Raises:
        ValueError: T_max < 1 or eta_min < 0.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, (int, np.integer)) or T_max < 1:
            raise ValueError(f"T_max: expected an int >= 1, got {T_max!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)) or eta_min < 0:
            raise ValueError(f"eta_min: expected a number >= 0, got {eta_min!r}")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """lr_t of the closed form for t = ``last_epoch``, one per group; at t = 0 the
        groups' current lr (as PyTorch)."""
        if self.last_epoch == 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        t = self.last_epoch
        return [float(self.eta_min + (base - self.eta_min) * (1 + np.cos(np.pi * t / self.T_max)) / 2)
                for base in self.base_lrs]


__all__ = ["LRScheduler", "CosineAnnealingLR"]
