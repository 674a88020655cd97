"""Adam's reused scratch arrays (tinygen/optim.py) give exactly the update of
Kingma & Ba 2015, Alg. 1, written out plainly, for parameters of different
sizes and dtypes sharing the scratch, and keep float32 float32."""
import numpy as np

import tinygen as tg


def _reference(ws, gs, steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    ws = [w.copy() for w in ws]
    ms, vs = [np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws]
    for t in range(1, steps + 1):
        for w, g, m, v in zip(ws, gs[t - 1], ms, vs):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return ws


def test_shared_scratch_matches_plain_adam():
    rng = np.random.default_rng(0)
    shapes = [(5, 7), (3,), (40,), (2, 2)]  # grows, shrinks: the buffers are reused and resized
    dtypes = [np.float32, np.float32, np.float64, np.float64]
    w0 = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    steps = 4
    gs = [[rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)] for _ in range(steps)]
    params = [tg.nn.Parameter(w.copy()) for w in w0]
    opt = tg.optim.Adam(params)
    for t in range(steps):
        for p, g in zip(params, gs[t]):
            p.grad = tg.tensor(g)
        opt.step()
    for p, r, d in zip(params, _reference(w0, gs, steps), dtypes):
        assert p.data.dtype == d
        np.testing.assert_allclose(p.data, r, rtol=1e-5 if d == np.float32 else 1e-12, atol=1e-7)
    assert "_scratch" not in str(opt.state_dict())  # scratch is not state
