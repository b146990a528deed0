"""COHERENT CsI 2021 NSI on the shared likelihood core (issue 9): the Delta chi^2 map over
(eps_ee^uV, eps_ee^dV) with the nuisances profiled at every point, its valley (the line of minima) and
the 1-d profiles (eps_ee^uV at eps_ee^dV = 0 and the reverse) with their intervals (physics.md section 5).

Each point is a fit of :func:`nufog.coherent_fits.nsi_fit` (vectorised over points, warm-started and
re-centred time templates, ``fit_ok`` per point). The map is profiled in batches of rows, each
warm-started from the previous batch's last row, with a progress line at least every 10 %.

Points far from both degenerate bands (Delta chi^2 above ~35 in the exact model) need pulls beyond the
core's 5 sigma bounds (the neutrino yield and the steady state): they are flagged ``fit_ok = False``;
their chi^2 (after a few iterations against the bound, larger than the unbounded minimum) only says that
they lie far outside every contour (:data:`nufog.coherent_fits.FAR_DELTA_CHI2`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import chi2 as chi2_dist

from nufog.coherent_fits import FAR_DELTA_CHI2, CsICore, NSIFit, nsi_fit
from nufog.coherent_templates import nsi_charge
from nufog.nuclei import csi, vector_charge
from nufog.progress import Progress

__all__ = ["nsi_scan", "nsi_valley", "nsi_profile", "profile_intervals"]

log = logging.getLogger(__name__)


def _check_grid(g: Sequence[float] | np.ndarray) -> np.ndarray:
    g = np.asarray(g, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(~np.isfinite(g)):
        raise ValueError("eps grids must be non-empty 1-d arrays of finite numbers")
    return g


def _refine_minimum(core, start, step, box, fit0: NSIFit, chi_start, levels=14):
    """Pattern search (5 x 5 points, halving the step) for the chi^2 minimum inside ``box`` from
    ``start``. Returns (point, chi^2)."""
    best, chi_best = np.asarray(start, float), float(chi_start)
    offsets = np.linspace(-2.0, 2.0, 5)
    step = np.asarray(step, float) / 2.0
    lo, hi = np.array([b[0] for b in box]), np.array([b[1] for b in box])
    theta, centre = fit0.warm_start()[0], fit0.t_offset_us[0]
    for _ in range(levels):
        du, dd = np.meshgrid(offsets * step[0], offsets * step[1], indexing="ij")
        pts = np.clip(best + np.stack([du.ravel(), dd.ravel()], axis=1), lo, hi)
        r = nsi_fit(core, pts[:, 0], pts[:, 1], theta, centre)
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

    Delta chi^2 is relative to the smallest chi^2 found: the grid minimum refined by a pattern search
    inside the grid box (on the nearly flat bands the point itself is poorly defined, see
    :func:`nsi_valley`). Returns ``eps_u``, ``eps_d``, ``chi2`` and ``delta_chi2`` (n_u, n_d),
    ``fit_ok`` (n_u, n_d), ``chi2_min``, ``best`` and ``delta_chi2_sm`` (at eps = 0).
    """
    eu, ed = _check_grid(eps_u_grid), _check_grid(eps_d_grid)
    sm = nsi_fit(core, 0.0, 0.0)
    chi = np.empty((eu.size, ed.size))
    ok = np.empty((eu.size, ed.size), bool)
    theta_row = np.repeat(sm.warm_start(), ed.size, axis=0)
    centre_row = np.repeat(sm.t_offset_us, ed.size)
    prog = Progress(eu.size, progress_log or log, what="NSI rows")
    for rows in np.array_split(np.arange(eu.size), min(batches, eu.size)):
        u_pts, d_pts = np.meshgrid(eu[rows], ed, indexing="ij")
        tile = (rows.size, 1)
        r = nsi_fit(
            core,
            u_pts.ravel(),
            d_pts.ravel(),
            np.tile(theta_row, tile),
            np.tile(centre_row, rows.size),
            max_iter,
            give_up_above=float(sm.chi2[0]) + FAR_DELTA_CHI2,
        )
        chi[rows], ok[rows] = r.chi2.reshape(rows.size, ed.size), r.ok.reshape(rows.size, ed.size)
        theta_row = r.warm_start().reshape(rows.size, ed.size, -1)[-1]
        centre_row = r.t_offset_us.reshape(rows.size, ed.size)[-1]
        prog.step(rows.size)
    masked = np.where(ok, chi, np.inf)
    i0, j0 = np.unravel_index(np.argmin(masked), chi.shape)
    steps = [float(np.diff(g).min()) if g.size > 1 else 0.0 for g in (eu, ed)]
    box = [(float(eu.min()), float(eu.max())), (float(ed.min()), float(ed.max()))]
    fit0 = nsi_fit(core, eu[i0], ed[j0], sm.warm_start(), sm.t_offset_us)
    best, chi_min = _refine_minimum(core, (eu[i0], ed[j0]), steps, box, fit0, masked[i0, j0])
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


def nsi_valley(eps_u: np.ndarray, eps_d: np.ndarray, delta_chi2: np.ndarray) -> list[np.ndarray]:
    """The line of minima of a Delta chi^2 map (n_u, n_d): for every eps_u, each local minimum in
    eps_d, refined by a parabola through the three grid points.

    Returns two arrays (n_u, 3) of (eps_u, eps_d, delta_chi2), NaN where the band's minimum is outside
    the grid: band 0 where the nu_e charge (mean over Cs and I) keeps the SM sign (it holds the SM
    point), band 1 where it is reversed."""
    bands = np.full((2, eps_u.size, 3), np.nan)
    bands[:, :, 0] = eps_u
    h = np.diff(eps_d)
    isotopes = csi().isotopes
    for i, u_val in enumerate(eps_u):
        row = delta_chi2[i]
        for j in [j for j in range(1, row.size - 1) if row[j] <= row[j - 1] and row[j] < row[j + 1]]:
            y0, y1, y2 = row[j - 1], row[j], row[j + 1]
            den = y0 - 2 * y1 + y2
            off = 0.5 * (y0 - y2) / den if den > 0 else 0.0
            d_min = float(eps_d[j] + off * (h[j] if off > 0 else h[j - 1]))
            q = np.mean([nsi_charge(iso.Z, iso.N, u_val, d_min) / vector_charge(iso.Z, iso.N) for iso in isotopes])
            k = 0 if q > 0 else 1
            if np.isnan(bands[k, i, 2]) or y1 < bands[k, i, 2]:
                bands[k, i, 1:] = (d_min, float(y1 - 0.25 * (y0 - y2) * off))
    return [bands[0], bands[1]]


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
    level = profile["chi2_min"] + float(chi2_dist.ppf(cl, df=1))
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
