"""A one-line progress report for training loops: step, values, it/s, ETA."""
import sys
import time


class Progress:
    """Print ``step 200/2000 | loss_D -1.234 loss_G 0.567 | 3.41 it/s | ETA 8m48s``.

    Args:
        total: the last step. start: the step the run (re)starts from.
        every: print every this many steps (and at the last one).
        prefix: a name printed in brackets first (which model is training).
    """

    def __init__(self, total, start=0, every=50, stream=None, prefix=""):
        self.total, self.start, self.every = total, start, max(int(every), 1)
        self.prefix = f"[{prefix}] " if prefix else ""
        self.stream = stream or sys.stdout
        self.t0 = time.perf_counter()

    def rate(self, step):
        """Steps per second since the run (re)started."""
        dt = time.perf_counter() - self.t0
        return (step - self.start) / dt if dt > 0 else 0.0

    def update(self, step, **values):
        """Report at ``step`` (1-based) if it is due; ``values`` are name -> float."""
        if step % self.every and step != self.total:
            return
        rate = self.rate(step)
        eta = (self.total - step) / rate if rate > 0 else 0.0
        vals = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        print(f"{self.prefix}step {step}/{self.total} | {vals} | {rate:.2f} it/s | ETA {_fmt(eta)}",
              file=self.stream, flush=True)


def _fmt(seconds):
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
