"""Profiled fits of the COHERENT CsI model (:mod:`nufog.coherent_model`) and a batched root finder.

Fits: batched projected Newton steps with the analytic gradient and Hessian (bounded nuisances held
at a bound while the gradient pushes outward), a backtracking line search, warm starts. Every fit
reports ``ok`` (converged, and no free nuisance on a bound) and a message. A failed fit is retried
from the nominal nuisances (with a coarse scan of the time offset, whose likelihood can have side
minima), then from a perturbed start, then with L-BFGS-B; if it still fails it is flagged.

Roots (mediator limits in the coupling, the SM interval in the signal strength) are found by
:func:`bracketed_newton`: safeguarded Newton steps with the envelope-theorem derivative
d chi2_prof / d lambda = d chi2 / d lambda at the profiled nuisances, bisection when a step leaves
the bracket. This module and :mod:`nufog.coherent_inference` are what the shared likelihood core
replaces; the model only evaluates -2 ln L, its gradient and Hessian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nufog.coherent_model import NUISANCES, CsIModel

__all__ = ["FitResult", "BatchFit", "fit", "fit_batch", "newton", "fit_status", "bracketed_newton"]

_BOUND_TOL = 1e-6  # relative to the bound's range: a free nuisance closer than this "sits on a bound"


@dataclass(frozen=True)
class FitResult:
    """One profiled fit: nuisances ``x`` (order of :data:`NUISANCES`), ``chi2`` (-2 ln L with pulls),
    ``deviance`` (data part alone), ``ok`` (converged, no free nuisance on a bound), ``message``."""

    x: np.ndarray
    chi2: float
    deviance: float
    ok: bool
    message: str
    n_iter: int = 0

    @property
    def nuisances(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(NUISANCES, self.x)}


@dataclass(frozen=True)
class BatchFit:
    """Fits of a batch: ``x`` (n, 6), ``chi2``, ``deviance``, ``ok`` (n,), ``messages``."""

    x: np.ndarray
    chi2: np.ndarray
    deviance: np.ndarray
    ok: np.ndarray
    messages: tuple[str, ...]

    def __getitem__(self, i: int) -> FitResult:
        return FitResult(
            self.x[i].copy(), float(self.chi2[i]), float(self.deviance[i]), bool(self.ok[i]), self.messages[i]
        )


def _options(model: CsIModel, fixed: dict[str, float] | None, free_normalisation: bool, pulls: bool = True):
    fixed = dict(fixed or {})
    bad = set(fixed) - set(NUISANCES)
    if bad:
        raise ValueError(f"unknown nuisances {sorted(bad)}; choose from {NUISANCES}")
    free = np.array([k not in fixed for k in NUISANCES])
    sig = np.array(model.pull_sigmas, dtype=float)
    if free_normalisation:
        sig[0] = np.inf
    if not pulls:
        sig[:] = np.inf
    return fixed, free, sig


def _nominal_start(model, spectra, n, fixed, free, sig) -> np.ndarray:
    """Nominal nuisances, fixed values applied, t_offset from a coarse 21-point scan (side minima)."""
    x = np.zeros((n, 6))
    for k, v in fixed.items():
        x[:, NUISANCES.index(k)] = v
    if free[5]:
        grid = np.linspace(*model.offset_bounds_us, 21)
        for i in range(n):
            s = spectra if spectra.ndim == 2 else spectra[i]
            trial = np.repeat(x[i : i + 1], grid.size, axis=0)
            trial[:, 5] = grid
            x[i, 5] = grid[int(np.argmin(model.evaluate(trial, s, sig)[0]))]
    return x


def newton(model, spectra, x, free, sig, max_iter=60, tol=1e-10):
    """Projected Newton with backtracking on a batch; returns x, chi2, dev, converged, iterations."""
    lo = np.array([b[0] for b in model.bounds])
    hi = np.array([b[1] for b in model.bounds])
    x = np.clip(x, lo, hi)
    chi2, dev, g, h = model.evaluate(x, spectra, sig, hessian=True)
    n = x.shape[0]
    done = np.zeros(n, bool)
    iters = np.zeros(n, int)
    eps = 1e-12 * (hi - lo)

    def sub(i):
        return spectra if spectra.ndim == 2 else spectra[i]

    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        xs, gs, hs = x[idx], g[idx], h[idx]
        hold = ~free[None, :] | ((xs <= lo + eps) & (gs > 0)) | ((xs >= hi - eps) & (gs < 0))
        hr = np.where(hold[:, :, None] | hold[:, None, :], 0.0, hs)
        hr[:, np.arange(6), np.arange(6)] += hold
        gr = np.where(hold, 0.0, gs)
        step = -np.linalg.solve(hr, gr[:, :, None])[:, :, 0]
        decrement = -(gr * step).sum(axis=1)
        bad = ~(decrement >= 0) | ~np.isfinite(decrement)
        if bad.any():  # not positive definite: clip the eigenvalues
            w, v = np.linalg.eigh(hr[bad])
            w = np.maximum(w, 1e-8 * np.maximum(w.max(axis=1, keepdims=True), 1e-300))
            step[bad] = -np.einsum("nij,nj->ni", v, np.einsum("nji,nj->ni", v, gr[bad]) / w)
            decrement = -(gr * step).sum(axis=1)
        conv = decrement < tol
        done[idx[conv]] = True
        idx, step, xs = idx[~conv], step[~conv], xs[~conv]
        iters[idx] += 1
        t = np.ones(idx.size)
        pending = np.arange(idx.size)
        for _ls in range(30):
            if pending.size == 0:
                break
            k = idx[pending]
            xt = np.clip(xs[pending] + t[pending, None] * step[pending], lo, hi)
            c, dv, gt, ht = model.evaluate(xt, sub(k), sig, hessian=True)
            good = c <= chi2[k] + 1e-12 * np.abs(chi2[k])
            acc = k[good]
            x[acc], chi2[acc], dev[acc], g[acc], h[acc] = xt[good], c[good], dv[good], gt[good], ht[good]
            t[pending[~good]] *= 0.25
            pending = pending[~good]
        # no decrease at any step length: a minimum to rounding precision if the decrement is small
        stalled = idx[np.isin(np.arange(idx.size), pending)]
        done[stalled] = True
    decrement_ok = np.ones(n, bool)
    if not done.all():
        decrement_ok[~done] = False
    return x, chi2, dev, done & decrement_ok, iters


def fit_status(model, x, free, converged) -> tuple[np.ndarray, list[str]]:
    lo = np.array([b[0] for b in model.bounds])
    hi = np.array([b[1] for b in model.bounds])
    tol = _BOUND_TOL * (hi - lo)
    on_bound = free[None, :] & ((x <= lo + tol) | (x >= hi - tol))
    ok = converged & ~on_bound.any(axis=1)
    msgs = []
    for c, b in zip(converged, on_bound):
        if not c:
            msgs.append("not converged")
        elif b.any():
            msgs.append("nuisance on its bound: " + ", ".join(k for k, f in zip(NUISANCES, b) if f))
        else:
            msgs.append("converged")
    return ok, msgs


def fit_batch(
    model: CsIModel,
    spectra: np.ndarray | None = None,
    x0: np.ndarray | None = None,
    *,
    fixed: dict[str, float] | None = None,
    free_normalisation: bool = False,
    pulls: bool = True,
    retry: bool = True,
) -> BatchFit:
    """Profile the six nuisances for a batch of spectra (n, 2, n_fine) (or one (2, n_fine) spectrum
    and n starts ``x0`` (n, 6)). ``fixed``: nuisances held at given values, by name;
    ``free_normalisation`` drops the alpha_nu pull, ``pulls=False`` every pull. Default start: nominal
    with a t_offset pre-scan."""
    s = model.sm_spectra if spectra is None else np.asarray(spectra, dtype=float)
    fixed, free, sig = _options(model, fixed, free_normalisation, pulls)
    n = s.shape[0] if s.ndim == 3 else (1 if x0 is None else np.atleast_2d(x0).shape[0])
    if x0 is None:
        x = _nominal_start(model, s, n, fixed, free, sig)
    else:
        x = np.array(np.broadcast_to(np.atleast_2d(np.asarray(x0, dtype=float)), (n, 6)))
        for k, v in fixed.items():
            x[:, NUISANCES.index(k)] = v
    x, chi2, dev, conv, _ = newton(model, s, x, free, sig)
    ok, msgs = fit_status(model, x, free, conv)
    if retry and not ok.all():
        for i in np.flatnonzero(~ok):
            si = s if s.ndim == 2 else s[i : i + 1]
            r = _retry(model, si, x[i], fixed, free, sig)
            if r is not None and (r[3] or r[1] < chi2[i] - 1e-9):
                x[i], chi2[i], dev[i], ok[i], msgs[i] = r
            else:
                msgs[i] += " (retries failed)"
    return BatchFit(x, chi2, dev, ok, tuple(msgs))


def _retry(model, spectra, x_fail, fixed, free, sig):
    """Restart a failed fit: nominal start with an offset scan, a perturbed start, then L-BFGS-B."""
    rng = np.random.default_rng(0)
    starts = [_nominal_start(model, spectra, 1, fixed, free, sig)[0], x_fail + 0.05 * rng.standard_normal(6) * free]
    best = None
    for start in starts:
        x, c, d, conv, _ = newton(model, spectra, start[None], free, sig)
        ok, msgs = fit_status(model, x, free, conv)
        cand = (x[0], float(c[0]), float(d[0]), bool(ok[0]), msgs[0] + " after a restart")
        if best is None or cand[1] < best[1] - 1e-9 or (cand[3] and not best[3]):
            best = cand
        if best[3]:
            return best
    lo = np.array([b[0] for b in model.bounds])
    hi = np.array([b[1] for b in model.bounds])
    x_full = best[0].copy()
    sc = model.scales[free]
    s1 = spectra if spectra.ndim == 2 else spectra[0]

    def fun(y):
        x_full[free] = y * sc
        c, g = model.chi2_and_grad(x_full, s1, sig)
        return c, g[free] * sc

    from scipy.optimize import minimize  # only for a fit Newton's restarts could not mend (~0.2 s of imports)

    res = minimize(fun, best[0][free] / sc, jac=True, method="L-BFGS-B", bounds=list(zip(lo[free] / sc, hi[free] / sc)))
    x_full[free] = res.x * sc
    x, c, d, conv, _ = newton(model, spectra, x_full[None], free, sig)
    ok, msgs = fit_status(model, x, free, conv & bool(res.success))
    cand = (x[0], float(c[0]), float(d[0]), bool(ok[0]), msgs[0] + " after L-BFGS-B")
    return cand if cand[1] < best[1] - 1e-9 or cand[3] else best


def fit(
    model: CsIModel,
    spectra: np.ndarray | None = None,
    x0: Sequence[float] | None = None,
    *,
    fixed: dict[str, float] | None = None,
    free_normalisation: bool = False,
    pulls: bool = True,
) -> FitResult:
    """One profiled fit (see :func:`fit_batch`)."""
    s = model.sm_spectra if spectra is None else np.asarray(spectra, dtype=float)
    return fit_batch(model, s, x0, fixed=fixed, free_normalisation=free_normalisation, pulls=pulls)[0]


def bracketed_newton(f_and_df, lo, hi, x, t0, rtol, log_space, max_iter=60):
    """Batched safeguarded Newton for roots of f in [lo, hi] (f(lo) < 0 < f(hi) or the reverse).

    ``f_and_df(t, x)`` -> (f, df/dt, x_new, ok) for a batch; the Newton step is taken in ln t when
    ``log_space``; a step outside the bracket is replaced by bisection. Returns t, x, ok."""
    t = np.array(t0, dtype=float)
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    ok = np.ones(t.size, bool)
    active = np.ones(t.size, bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        f, df, xn, fok = f_and_df(t[idx], x[idx], idx)
        x[idx], ok[idx] = xn, fok
        below = f < 0
        lo[idx[below]] = t[idx[below]]
        hi[idx[~below]] = t[idx[~below]]
        if log_space:
            z, zlo, zhi = np.log(t[idx]), np.log(lo[idx]), np.log(hi[idx])
            step = -f / (df * t[idx])
        else:
            z, zlo, zhi = t[idx], lo[idx], hi[idx]
            step = -f / df
        # converged: the Newton step is below the tolerance (the point stays where it is)
        conv = np.abs(step) <= rtol * (1.0 if log_space else np.abs(z))
        zn = z + step
        outside = ~np.isfinite(zn) | (zn <= np.minimum(zlo, zhi)) | (zn >= np.maximum(zlo, zhi))
        zn = np.where(conv, z, np.where(outside, 0.5 * (zlo + zhi), zn))
        t[idx] = np.exp(zn) if log_space else zn
        active[idx[conv]] = False
    # final evaluation at the returned roots so that x and ok belong to them
    _, _, xn, fok = f_and_df(t, x, np.arange(t.size))
    return t, xn, fok & ~active
