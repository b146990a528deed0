"""Vectorised root refinement for the limit setting (:mod:`nufog.inference`, :mod:`nufog.toys`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["illinois_log"]


def illinois_log(
    h: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x_lo: np.ndarray,
    x_hi: np.ndarray,
    h_lo: np.ndarray,
    h_hi: np.ndarray,
    found: np.ndarray,
    index: np.ndarray,
    tol: float,
    max_iter: int,
    clip: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Shrink brackets [x_lo, x_hi] in log G, with h(exp x_lo) <= 0 < h(exp x_hi), of an increasing criterion
    h(G, index) by the Illinois method (regula falsi that halves the stale end's value when the same end
    moves twice), until x_hi - x_lo <= ``tol``, for the rows where ``found``. A trial point is kept a
    fraction ``clip`` of the bracket inside it. Returns the final (x_lo, x_hi); a row where h returned NaN or
    an infinity gets NaN for both (a failed fit inside the bracket: no root is claimed there).

    >>> lo, hi = illinois_log(lambda g, i: g - 2.0, np.log([1.0]), np.log([5.0]), np.array([-1.0]),
    ...                       np.array([3.0]), np.array([True]), np.array([0]), 1e-12, 100, 0.01)
    >>> round(float(np.exp(0.5 * (lo + hi))[0]), 10)
    2.0
    """
    x_lo, x_hi, h_lo, h_hi = (np.array(a, dtype=float) for a in (x_lo, x_hi, h_lo, h_hi))
    side = np.zeros(x_lo.size)
    for _ in range(max_iter):
        active = found & (x_hi - x_lo > tol)
        if not active.any():
            break
        x = np.where(active, (x_lo * h_hi - x_hi * h_lo) / (h_hi - h_lo), x_lo)
        x = np.clip(x, x_lo + clip * (x_hi - x_lo), x_hi - clip * (x_hi - x_lo))
        f = np.zeros(x_lo.size)
        f[active] = h(np.exp(x[active]), index[active])
        failed = active & ~np.isfinite(f)
        if failed.any():  # frozen as NaN: x_hi - x_lo > tol is then False
            x_lo, x_hi = np.where(failed, np.nan, x_lo), np.where(failed, np.nan, x_hi)
            active &= ~failed
        upper = active & (f > 0)
        lower = active & ~upper
        x_hi, h_hi = np.where(upper, x, x_hi), np.where(upper, f, h_hi)
        x_lo, h_lo = np.where(lower, x, x_lo), np.where(lower, f, h_lo)
        h_lo = np.where(upper & (side > 0), 0.5 * h_lo, h_lo)
        h_hi = np.where(lower & (side < 0), 0.5 * h_hi, h_hi)
        side = np.where(upper, 1.0, np.where(lower, -1.0, side))
    return x_lo, x_hi
