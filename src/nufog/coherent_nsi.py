"""COHERENT CsI 2021 NSI on the shared likelihood core (issue 9): the Delta chi^2 map over
(eps_ee^uV, eps_ee^dV) with the nuisances profiled at every point, its valley (the line of minima) and
the 1-d profiles (eps_ee^uV at eps_ee^dV = 0 and the reverse) with their intervals (physics.md section 5).

Each point is a fit of :func:`nufog.coherent_fits.nsi_fit` (vectorised over points, warm-started and
re-centred time templates, ``fit_ok`` per point). Cs and I have nearly the same N / Z, so a point's fit
depends on (eps_u, eps_d) almost only through the NSI strength x (:func:`nsi_strength`): the map first
fits a line of seed points in x (about 50 fits, continuation from the SM point) and starts every grid
point from the seeds' nuisances and time offset interpolated at its x (a few Newton iterations, rarely
a re-centring). The map is profiled in batches of rows, with a progress line at least every 10 %.

Points far from both degenerate bands (Delta chi^2 above ~35 in the exact model) need pulls beyond the
core's 5 sigma bounds (the neutrino yield and the steady state): they are flagged ``fit_ok = False``.
Beyond the second seed that was given up as far (:func:`_seed_line`) they are not fitted at all and
carry the chi^2 at the seeds' nuisances; between the seeds they are given up after a few iterations
against the bound (:func:`nufog.coherent_fits.nsi_fit`). Their chi^2 only says that they lie far outside
every contour (:data:`nufog.coherent_fits.FAR_DELTA_CHI2`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nufog.coherent_fits import FAR_DELTA_CHI2, CsICore, NSIFit, nsi_chi2, nsi_fit
from nufog.coherent_valley import nsi_valley
from nufog.progress import Progress
from nufog.stats import brentq, delta_chi2_threshold

__all__ = ["nsi_scan", "nsi_strength", "nsi_valley", "nsi_profile", "profile_intervals"]

log = logging.getLogger(__name__)

#: spacing of the map's seed fits in q = sqrt(strength) (:func:`_seed_line`)
SEED_STEP = 0.05
#: seed fits per vectorised call (each call warm-started from the previous one's last fit)
SEED_CHUNK = 8


def _check_grid(g: Sequence[float] | np.ndarray) -> np.ndarray:
    g = np.asarray(g, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(~np.isfinite(g)):
        raise ValueError("eps grids must be non-empty 1-d arrays of finite numbers")
    return g


def nsi_strength(core: CsICore, eps_u: np.ndarray | float, eps_d: np.ndarray | float) -> np.ndarray:
    """x = mean over the isotopes of (Q_i(eps) / Q_i,SM)^2: the NSI flavours' CEvNS relative to the SM.

    Cs and I have nearly the same proton-to-neutron ratio, so the profiled fit at a point depends on
    (eps_u, eps_d) almost only through x (the degenerate bands are lines of constant x)."""
    return (core.charges_squared(eps_u, eps_d) / core.model.sm_charges**2).mean(axis=-1)


@dataclass(frozen=True)
class _Seeds:
    """Profiled fits along a line of NSI points ordered in strength x (:func:`nsi_strength`): warm starts
    and the classification of the map's points (:func:`_seed_line`). Every seed strictly between
    ``near`` converged inside the bounds; points at x <= ``far[0]`` or x >= ``far[1]`` are far outside
    every contour (+-inf: none)."""

    x: np.ndarray  # (S,) increasing
    theta: np.ndarray  # (S, K) warm starts (time templates centred on the fitted offset)
    centres_us: np.ndarray  # (S,) fitted offsets
    near: tuple[float, float]
    far: tuple[float, float]

    def start(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Warm start (theta, template centre) at strengths x: linear interpolation between the seeds."""
        theta = np.stack([np.interp(x, self.x, self.theta[:, k]) for k in range(self.theta.shape[1])], axis=-1)
        return theta, np.interp(x, self.x, self.centres_us)


def _seed_line(core: CsICore, sm: NSIFit, x_range: tuple[float, float], give_up: float, max_iter: int) -> _Seeds:
    """Fits along the eps_u axis (eps_d = 0, possibly beyond the map) at strengths from the SM (x = 1)
    down to ``x_range[0]`` and up to ``x_range[1]``, equally spaced (at most :data:`SEED_STEP`) in
    q = sqrt(x), in chunks of :data:`SEED_CHUNK`, each warm-started from the previous chunk's last fit.

    A side stops at its second seed given up as far (chi^2 above ``give_up`` against a 5 sigma bound,
    :func:`nsi_fit`): the profiled chi^2 rises monotonically away from the SM strength, so every point
    beyond that seed (one seed step of margin beyond the first far one) is far outside every contour."""
    iso = core.model.target.isotopes
    # q = 1 + c eps_u on the eps_u axis (c: mean over the isotopes of (2 Z + N) / Q_SM)
    c = float(np.mean([(2 * i.Z + i.N) / q for i, q in zip(iso, core.model.sm_charges)]))
    x_all, th_all, cen_all = [np.ones(1)], [sm.warm_start()], [sm.t_offset_us]
    near, far = [-np.inf, np.inf], [-np.inf, np.inf]
    for side, q_end in enumerate(np.sqrt(np.maximum(x_range, 0.0))):
        n = int(np.ceil(abs(q_end - 1.0) / SEED_STEP))
        q = 1.0 + (q_end - 1.0) * np.arange(1, n + 1) / max(n, 1)
        theta, centre, x_ok, n_far = sm.warm_start()[0], sm.t_offset_us, 1.0, 0
        for chunk in np.array_split(q, -(-n // SEED_CHUNK)) if n else ():
            eu = (chunk - 1.0) / c
            r = nsi_fit(core, eu, 0.0, theta, centre, max_iter, give_up_above=give_up)
            x = nsi_strength(core, eu, 0.0)
            x_all.append(x)
            th_all.append(r.warm_start())
            cen_all.append(r.t_offset_us)
            theta, centre = r.warm_start()[-1], r.t_offset_us[-1:]
            if near[side] == (-np.inf, np.inf)[side]:
                bad = np.flatnonzero(~r.ok)
                near[side] = x[bad[0] - 1] if bad.size and bad[0] > 0 else x_ok if bad.size else near[side]
            x_ok = x[-1]
            given_up = np.flatnonzero(~r.ok & (r.chi2 > give_up))
            if n_far + given_up.size >= 2:
                far[side] = float(x[given_up[1 - n_far]])
                break
            n_far += given_up.size
    x, theta, centres = (np.concatenate(v) for v in (x_all, th_all, cen_all))
    order = np.argsort(x)
    return _Seeds(x[order], theta[order], centres[order], (float(near[0]), float(near[1])), (far[0], far[1]))


def _refine_minimum(core, start, step, box, fit0: NSIFit, chi_start, seeds: _Seeds | None = None, levels=14):
    """Pattern search (5 x 5 points, halving the step) for the chi^2 minimum inside ``box`` from
    ``start``. Each point starts from the best fit so far, moved by the change of the ``seeds``' fits
    between the two strengths (if given). Returns (point, chi^2)."""
    best, chi_best = np.asarray(start, float), float(chi_start)
    offsets = np.linspace(-2.0, 2.0, 5)
    step = np.asarray(step, float) / 2.0
    lo, hi = np.array([b[0] for b in box]), np.array([b[1] for b in box])
    theta, centre = fit0.warm_start()[0], fit0.t_offset_us[0]
    for _ in range(levels):
        du, dd = np.meshgrid(offsets * step[0], offsets * step[1], indexing="ij")
        pts = np.clip(best + np.stack([du.ravel(), dd.ravel()], axis=1), lo, hi)
        th0, c0 = theta, centre
        if seeds is not None:
            (th_s, c_s), (th_b, c_b) = (seeds.start(nsi_strength(core, *p)) for p in (pts.T, best))
            th0, c0 = theta + th_s - th_b, centre + c_s - c_b
        r = nsi_fit(core, pts[:, 0], pts[:, 1], th0, c0)
        chi = np.where(r.ok, r.chi2, np.inf)
        k = int(np.argmin(chi))
        if chi[k] < chi_best:
            best, chi_best, theta, centre = pts[k], float(chi[k]), r.warm_start()[k], r.t_offset_us[k]
        step = step / 2.0
    return (float(best[0]), float(best[1])), chi_best


def nsi_scan(
    eps_u_grid: Sequence[float] | np.ndarray,
    eps_d_grid: Sequence[float] | np.ndarray,
    core: CsICore,
    *,
    progress_log: logging.Logger | None = None,
    batches: int = 10,
    max_iter: int = 60,
) -> dict[str, np.ndarray | float | tuple]:
    """Delta chi^2 map over (eps_ee^uV, eps_ee^dV) with the six nuisances profiled at every point.

    Every point starts from the fits of a line of seed points at the same NSI strength
    (:func:`nsi_strength`, :func:`_seed_line`), with its time templates centred on the offset
    interpolated from the seeds (usually one re-centring or none). Points beyond the seeds' far
    thresholds are not fitted: they are flagged ``fit_ok = False`` and carry the chi^2 at the seeds'
    nuisances (above the SM point's by more than :data:`~nufog.coherent_fits.FAR_DELTA_CHI2`; only
    "far outside every contour" is meant). The rows are profiled in ``batches`` with a progress line
    per batch.

    Delta chi^2 is relative to the smallest chi^2 found: the grid minimum refined by a pattern search
    inside the grid box (on the nearly flat bands the point itself is poorly defined, see
    :func:`nsi_valley`). Returns ``eps_u``, ``eps_d``, ``chi2`` and ``delta_chi2`` (n_u, n_d),
    ``fit_ok`` (n_u, n_d), ``chi2_min``, ``best`` and ``delta_chi2_sm`` (at eps = 0).
    """
    eu, ed = _check_grid(eps_u_grid), _check_grid(eps_d_grid)
    sm = nsi_fit(core, 0.0, 0.0)
    give_up = float(sm.chi2[0]) + FAR_DELTA_CHI2
    u_pts, d_pts = np.meshgrid(eu, ed, indexing="ij")
    strength = nsi_strength(core, u_pts, d_pts)
    seeds = _seed_line(core, sm, (float(strength.min()), float(strength.max())), give_up, max_iter)
    chi = np.empty((eu.size, ed.size))
    ok = np.zeros((eu.size, ed.size), bool)
    prog = Progress(eu.size, progress_log or log, what="NSI rows")
    for rows in np.array_split(np.arange(eu.size), min(batches, eu.size)):
        x = strength[rows].ravel()
        theta, centres = seeds.start(x)
        far = (x <= seeds.far[0]) | (x >= seeds.far[1])
        near = (x > seeds.near[0]) & (x < seeds.near[1])
        u, d = u_pts[rows].ravel(), d_pts[rows].ravel()
        c, f = np.empty(x.size), np.zeros(x.size, bool)
        if far.any():
            c[far] = nsi_chi2(core, u[far], d[far], theta[far], centres[far])
        # near the seeds that converged: fitted to convergence; between them and the far ones: given up
        # after a few iterations if they press a bound far outside every contour (nsi_fit)
        for pick, limit in ((near, None), (~near & ~far, give_up)):
            if pick.any():
                r = nsi_fit(core, u[pick], d[pick], theta[pick], centres[pick], max_iter, give_up_above=limit)
                c[pick], f[pick] = r.chi2, r.ok
        chi[rows], ok[rows] = c.reshape(rows.size, ed.size), f.reshape(rows.size, ed.size)
        prog.step(rows.size)
    masked = np.where(ok, chi, np.inf)
    i0, j0 = np.unravel_index(np.argmin(masked), chi.shape)
    steps = [float(np.diff(g).min()) if g.size > 1 else 0.0 for g in (eu, ed)]
    box = [(float(eu.min()), float(eu.max())), (float(ed.min()), float(ed.max()))]
    fit0 = nsi_fit(core, eu[i0], ed[j0], sm.warm_start(), sm.t_offset_us)
    best, chi_min = _refine_minimum(core, (eu[i0], ed[j0]), steps, box, fit0, masked[i0, j0], seeds)
    if not ok.all():
        log.warning("NSI scan: %d of %d fits flagged fit_ok = False", (~ok).sum(), ok.size)
    return {
        "eps_u": eu,
        "eps_d": ed,
        "chi2": chi,
        "delta_chi2": chi - chi_min,
        "fit_ok": ok,
        "chi2_min": chi_min,
        "best": best,
        "delta_chi2_sm": float(sm.chi2[0]) - chi_min,
    }


def _axis_points(parameter: str, values: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    v = np.atleast_1d(np.asarray(values, dtype=float))
    return (v, np.zeros_like(v)) if parameter == "eps_u" else (np.zeros_like(v), v)


def nsi_profile(
    core: CsICore,
    parameter: str,
    grid: Sequence[float] | np.ndarray,
    *,
    progress_log: logging.Logger | None = None,
    batches: int = 10,
) -> dict[str, np.ndarray | float | str]:
    """Profiled chi^2 along one NSI axis with the other at zero (``parameter``: ``eps_u`` or ``eps_d``).

    Returns ``parameter``, ``grid``, ``chi2``, ``fit_ok``, ``theta`` and ``centres_us`` (warm starts for
    the refinements) and ``chi2_min`` (grid minima refined by a bounded 1-d minimisation; there are two nearly equal
    minima, one per degenerate band)."""
    if parameter not in ("eps_u", "eps_d"):
        raise ValueError(f"parameter must be 'eps_u' or 'eps_d', got {parameter!r}")
    g = _check_grid(grid)
    sm = nsi_fit(core, 0.0, 0.0)
    chi, ok = np.empty(g.size), np.empty(g.size, bool)
    theta, centres = np.empty((g.size, sm.theta.shape[1])), np.empty(g.size)
    prog = Progress(g.size, progress_log or log, what=f"{parameter} profile points")
    for c in np.array_split(np.arange(g.size), min(batches, g.size)):
        r = nsi_fit(
            core,
            *_axis_points(parameter, g[c]),
            sm.warm_start(),
            sm.t_offset_us,
            give_up_above=float(sm.chi2[0]) + FAR_DELTA_CHI2,
        )
        chi[c], ok[c], theta[c], centres[c] = r.chi2, r.ok, r.warm_start(), r.t_offset_us
        prog.step(c.size)
    chi_min = float(np.min(np.where(ok, chi, np.inf)))
    from scipy.optimize import minimize_scalar  # here: the jobs that import this module for the scan skip it

    for j in [j for j in range(1, g.size - 1) if chi[j] <= chi[j - 1] and chi[j] < chi[j + 1]]:
        res = minimize_scalar(
            lambda v, j=j: nsi_fit(core, *_axis_points(parameter, v), theta[j], centres[j]).chi2[0],
            bounds=(g[j - 1], g[j + 1]),
            method="bounded",
            options={"xatol": 1e-7},
        )
        chi_min = min(chi_min, float(res.fun))
    return {
        "parameter": parameter,
        "grid": g,
        "chi2": chi,
        "fit_ok": ok,
        "theta": theta,
        "centres_us": centres,
        "chi2_min": chi_min,
    }


def profile_intervals(profile: dict, core: CsICore, cl: float = 0.9) -> list[tuple[float, float, bool, bool]]:
    """Intervals of a 1-d profile (:func:`nsi_profile`) where Delta chi^2 < chi2.ppf(cl, 1) (2.706 at
    90 % CL), the ends refined by root finding (brentq, xtol 1e-7). Returns (lower, upper,
    lower_is_scan_edge, upper_is_scan_edge) per interval (there can be two)."""
    g, chi, theta, centres = profile["grid"], profile["chi2"], profile["theta"], profile["centres_us"]
    level = profile["chi2_min"] + delta_chi2_threshold(cl)
    inside = chi < level

    def root(a: int, b: int) -> float:
        def f(v: float) -> float:
            return float(nsi_fit(core, *_axis_points(profile["parameter"], v), theta[a], centres[a]).chi2[0]) - level

        return float(brentq(f, g[a], g[b], xtol=1e-7))

    out = []
    j = 0
    while j < g.size:
        if not inside[j]:
            j += 1
            continue
        k = j
        while k + 1 < g.size and inside[k + 1]:
            k += 1
        lower = g[0] if j == 0 else root(j - 1, j)
        upper = g[-1] if k == g.size - 1 else root(k, k + 1)
        out.append((float(lower), float(upper), j == 0, k == g.size - 1))
        j = k + 1
    return out
