"""Roots in G of the limit criteria at every mediator mass (:mod:`nufog.inference`, :mod:`nufog.toys`):
a bracket scan in the number of new-physics events, secant steps on the profiled criterion from the
fixed-nuisance root, the Illinois method in log G, and the search for the nuisances' global minimum at
the roots of a likelihood with several minima."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nufog.likelihood import Dataset, Model
from nufog.statistic import Statistic, coupling_for_events

__all__ = ["illinois_log", "scan_criterion", "solve_increasing", "solve_profiled", "global_minimum_roots"]

LOG_TOL = 1e-9  # relative precision of the coupling limits
SCAN_ELEMENTS = 4_000_000  # (points x bins) per evaluation of the bracket scan


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


def scan_criterion(crit: Callable[[np.ndarray, np.ndarray], np.ndarray], data: Dataset, midx: np.ndarray) -> tuple:
    """``crit`` on the bracket-scan grid, G for 1e-3 to 1e8 new-physics events, at the mass indices ``midx``:
    (G, values), each (M, 56)."""
    events = np.geomspace(1e-3, 1e8, 56)
    grid = coupling_for_events(data, events[None, :] * np.ones((data.masses_MeV.size, 1)))[midx]
    flat_g, flat_m = grid.ravel(), np.repeat(midx, events.size)
    step = max(1, SCAN_ELEMENTS // max(data.n_bins, 1))  # points per call: bounded memory on big grids
    values = np.concatenate([crit(flat_g[k : k + step], flat_m[k : k + step]) for k in range(0, flat_g.size, step)])
    return grid, values.reshape(grid.shape)


def solve_increasing(
    h: Callable[[np.ndarray, np.ndarray], np.ndarray],
    data: Dataset,
    coarse: Callable | None = None,
    masses: np.ndarray | None = None,
    tol: float = LOG_TOL,
    scan: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Root in G > 0 of an increasing criterion h(G, mass_index) at every mass (or at the mass indices
    ``masses``); (G, found), arrays over those masses.

    The bracket comes from a scan in the number of new-physics events (1e-3 to 1e8) of ``coarse`` (a
    cheap version of h, e.g. with the nuisances fixed; default h), or from ``scan`` (grid and values of
    :func:`scan_criterion` at these masses), then is widened with h itself, and the root is refined by the
    Illinois method in log G to ``tol``.
    """
    midx = np.arange(data.masses_MeV.size) if masses is None else np.asarray(masses, dtype=int)
    n_mass = midx.size
    grid, values = scan if scan is not None else scan_criterion(coarse or h, data, midx)
    above = values > 0
    first = np.where(above.any(axis=1), above.argmax(axis=1), grid.shape[1] - 1)
    rows = np.arange(n_mass)
    lo = grid[rows, np.maximum(first - 1, 0)]
    hi = grid[rows, first]
    h_lo, h_hi = h(lo, midx), h(hi, midx)
    for _ in range(60):  # widen with the real criterion
        low_bad, high_bad = h_lo > 0, h_hi <= 0
        if not (low_bad.any() or high_bad.any()):
            break
        lo = np.where(low_bad, lo / 4.0, lo)
        hi = np.where(high_bad, hi * 4.0, hi)
        h_lo = np.where(low_bad, h(lo, midx), h_lo)
        h_hi = np.where(high_bad, h(hi, midx), h_hi)
    found = (h_lo <= 0) & (h_hi > 0) & np.isfinite(h_lo) & np.isfinite(h_hi)
    x_lo, x_hi = np.log(lo), np.log(hi)
    f_lo, f_hi = np.where(found, h_lo, -1.0), np.where(found, h_hi, 1.0)
    x_lo, x_hi = illinois_log(h, x_lo, x_hi, f_lo, f_hi, found, midx, tol, max_iter=100, clip=0.01)
    root = np.exp(0.5 * (x_lo + x_hi))
    found &= np.isfinite(root)  # a failed fit inside the bracket (NaN criterion) is not a root
    if found.any():  # the last evaluation is at the root: the fit status reported is the limit's own
        h(root[found], midx[found])
    return root, found


def solve_profiled(
    h: Callable[[np.ndarray, np.ndarray], np.ndarray],
    data: Dataset,
    coarse: Callable,
    tol: float = LOG_TOL,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    slope: np.ndarray | None = None,
    slope_out: dict | None = None,
    masses: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Root of the profiled criterion h at every mass, started from the root of ``coarse`` (h with the
    nuisances fixed, cheap) or from ``start`` (G, usable): secant steps in log G, kept inside the bracket
    found on the way (bisection when a step leaves it). A profiled root sits near the fixed one, so a few
    profiled fits per mass replace the bracket scan; masses that do not converge in 16 steps fall back to
    :func:`solve_increasing`. Returns (G, found) like it.

    ``slope``: a guess of dh/dlog G near the root; the second point is then the Newton step from the
    start with it (else 2 % above or below). ``slope_out``: filled with the last secant slope per mass.
    ``masses``: solve at these mass indices only (``start`` and ``slope`` are then given at them).
    """
    midx = np.arange(data.masses_MeV.size) if masses is None else np.asarray(masses, dtype=int)
    n_mass = midx.size
    g0, found0 = start if start is not None else solve_increasing(coarse, data, masses=midx, tol=1e-6)
    x_prev = np.log(np.where(found0, g0, 1.0))
    f_prev = h(np.exp(x_prev), midx)
    # profiling the nuisances weakens a limit: the second point is 2 % above the fixed-nuisance root
    step0 = np.where(f_prev > 0, -0.02, 0.02)
    if slope is None:  # the fixed-nuisance criterion's slope at its root (cheap)
        slope = (coarse(np.exp(x_prev + 0.01), midx) - coarse(np.exp(x_prev), midx)) / 0.01
    if slope is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = -f_prev / slope
        step0 = np.where(np.isfinite(newton) & (slope > 0) & (np.abs(newton) > 1e-6), np.clip(newton, -0.5, 0.5), step0)
    x = x_prev + step0
    f = h(np.exp(x), midx)
    lo = np.full(n_mass, -np.inf)  # largest log G with h <= 0 so far, smallest with h > 0
    hi = np.full(n_mass, np.inf)
    for xs, fs in ((x_prev, f_prev), (x, f)):
        lo = np.where(fs <= 0, np.maximum(lo, xs), lo)
        hi = np.where(fs > 0, np.minimum(hi, xs), hi)
    active = found0 & np.isfinite(f_prev) & np.isfinite(f)
    done = np.zeros(n_mass, dtype=bool)
    for _ in range(16):
        rows = np.nonzero(active & ~done)[0]
        if rows.size == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new = x[rows] - f[rows] * (x[rows] - x_prev[rows]) / (f[rows] - f_prev[rows])
        lo_r, hi_r = lo[rows], hi[rows]
        bracketed = np.isfinite(lo_r) & np.isfinite(hi_r)
        step = np.clip(x_new - x[rows], -1.0, 1.0)  # at most a factor e per step before a bracket exists
        x_new = np.where(np.isfinite(step), x[rows] + step, np.nan)
        outside = ~np.isfinite(x_new) | (bracketed & ((x_new <= lo_r) | (x_new >= hi_r)))
        x_new = np.where(outside & bracketed, 0.5 * (lo_r + hi_r), x_new)
        bad = ~np.isfinite(x_new)
        active[rows[bad]] = False
        rows, x_new = rows[~bad], x_new[~bad]
        # a step below the tolerance ends the search without another fit: the last one was within tol
        small = np.abs(x_new - x[rows]) < tol
        x[rows[small]] = x_new[small]
        done[rows[small]] = True
        rows, x_new = rows[~small], x_new[~small]
        f_new = h(np.exp(x_new), midx[rows])
        converged = np.abs(x_new - x[rows]) < tol
        x_prev[rows], f_prev[rows] = x[rows], f[rows]
        x[rows], f[rows] = x_new, f_new
        lo[rows] = np.where(f_new <= 0, np.maximum(lo[rows], x_new), lo[rows])
        hi[rows] = np.where(f_new > 0, np.minimum(hi[rows], x_new), hi[rows])
        active[rows[~np.isfinite(f_new)]] = False
        done[rows[converged & np.isfinite(f_new)]] = True
    if slope_out is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            slope_out["slope"] = (f - f_prev) / (x - x_prev)
    root = np.exp(x)
    if not done.all():  # no good start or slow: the bracket scan at those masses
        rest = np.nonzero(~done)[0]
        root[rest], ok = solve_increasing(h, data, coarse, masses=midx[rest], tol=tol)
        done[rest] = ok
    return np.where(done, root, np.nan), done


#: starts of the nuisances where a likelihood may have several minima: seeded random points (in units of
#: the nuisances' widths) on every 10th mass, two for the check, six where it found several minima (a fit
#: from such a start that has not converged in _START_ITER iterations is not used)
_N_STARTS, _START_SEED, _CHECK_EVERY, _START_ITER = 6, 20261202, 10, 50


def _random_starts(model: Model, n: int) -> np.ndarray:
    rng = np.random.default_rng(_START_SEED)
    return np.clip(1.5 * rng.standard_normal((n, model.n_nuisances)), model.lower, model.upper)


def _fits_from(stat: Statistic, g: np.ndarray, rows: np.ndarray, starts: list[np.ndarray]):
    """Fits at (g[rows], rows) from each start ((len(rows), K) arrays), all in one vectorised profile:
    (-2 ln L, ok, nuisances), each stacked over the starts."""
    n = len(starts)
    fit = stat.model.profile(np.tile(g[rows], n), np.tile(rows, n), np.concatenate(starts), max_iter=_START_ITER)
    return fit.nll2.reshape(n, -1), fit.ok.reshape(n, -1), fit.theta.reshape(n, rows.size, -1)


def _several_minima(stat: Statistic, g: np.ndarray, found: np.ndarray, theta: np.ndarray) -> bool:
    """Whether fits at (G, mass) where ``found`` (every :data:`_CHECK_EVERY`-th), from the nominal nuisances
    or two seeded random starts, end in another minimum than from ``theta`` (the nuisances at G)."""
    model = stat.model
    rows = np.nonzero(found)[0][::_CHECK_EVERY]
    if rows.size == 0 or model.n_nuisances == 0:
        return False
    starts = [theta[rows], np.zeros((rows.size, model.n_nuisances))]
    starts += [np.broadcast_to(r, (rows.size, r.size)) for r in _random_starts(model, 2)]
    nll2, ok, _ = _fits_from(stat, g, rows, starts)
    return bool((ok[1:] & ok[0] & (np.abs(nll2[1:] - nll2[0]) > 1e-6)).any())


def global_minimum_roots(
    h: Callable,
    data: Dataset,
    coarse: Callable,
    stat: Statistic,
    g: np.ndarray,
    found: np.ndarray,
    slope: np.ndarray,
    tol: float,
) -> np.ndarray:
    """Roots (G, found: updated in place) of the profiled criterion h on ``stat`` at the global minimum of
    the nuisances: if fits from other starts end in other minima (:func:`_several_minima`, ``stat``'s
    nuisances being those at the roots), every root is refitted from many starts (:func:`_lower_minima`)
    and re-solved from the lowest where it is lower, then its neighbours, until none is. ``slope``:
    dh/dlog G at the roots. Returns the indices of the masses re-solved."""
    if not _several_minima(stat, g, found, stat.theta):
        return np.zeros(0, dtype=int)
    touched = []
    rows = np.nonzero(found)[0]
    for sweep in range(2 * _CHECK_EVERY):
        rows = _lower_minima(stat, g, rows, random=sweep == 0)
        if rows.size == 0:
            break
        info: dict = {}
        g[rows], found[rows] = solve_profiled(h, data, coarse, tol, (g[rows], found[rows]), slope[rows], info, rows)
        slope[rows] = info["slope"]
        touched.append(rows)
        # next: the re-solved masses' neighbours (the lower minimum spreads along the masses)
        rows = np.unique(np.clip(np.concatenate([rows - 1, rows + 1]), 0, g.size - 1))
        rows = rows[found[rows]]
    return np.unique(np.concatenate(touched)) if touched else np.zeros(0, dtype=int)


def _lower_minima(stat: Statistic, g: np.ndarray, rows: np.ndarray, random: bool) -> np.ndarray:
    """Fits at (G, mass) for the mass indices ``rows`` from ``stat``'s own nuisances and from other starts:
    the nominal nuisances, the neighbouring masses' nuisances and, if ``random``, at every
    :data:`_CHECK_EVERY`-th mass :data:`_N_STARTS` seeded random ones. Where one ends lower (by > 1e-6 in
    -2 ln L), ``stat``'s nuisances are set to it. Returns those mass indices."""
    model = stat.model
    neighbours = [stat.theta[np.maximum(rows - 1, 0)], stat.theta[np.minimum(rows + 1, g.size - 1)]]
    nll2, ok, theta = _fits_from(stat, g, rows, [stat.theta[rows], np.zeros_like(neighbours[0]), *neighbours])
    nll2 = np.where(ok, nll2, np.inf)
    own = nll2[0].copy()
    best = np.argmin(nll2, axis=0)
    best_nll2, best_theta = nll2[best, np.arange(rows.size)], theta[best, np.arange(rows.size)]
    if random:
        some = np.nonzero(rows % _CHECK_EVERY == 0)[0]
        starts = [np.broadcast_to(r, (some.size, r.size)) for r in _random_starts(model, _N_STARTS)]
        r_nll2, r_ok, r_theta = _fits_from(stat, g, rows[some], starts)
        r_nll2 = np.where(r_ok, r_nll2, np.inf)
        r_best = np.argmin(r_nll2, axis=0)
        cand = r_nll2[r_best, np.arange(some.size)]
        better = cand < best_nll2[some]
        best_nll2[some[better]] = cand[better]
        best_theta[some[better]] = r_theta[r_best[better], np.nonzero(better)[0]]
    improved = best_nll2 < own - 1e-6
    stat.theta[rows[improved]] = best_theta[improved]
    return rows[improved]
