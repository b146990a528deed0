"""COHERENT CsI 2021 inference: the SM fit with its profile interval, the NSI scan, valley and 1-d
profiles, and the light-mediator limits (physics.md section 5), on top of the profiled fits of
:mod:`nufog.coherent_profile`. Kept apart from the model so that it can be replaced by the shared
binned-likelihood core. Long scans log their progress (:class:`nufog.progress.Progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.stats import chi2 as chi2_dist

from nufog.coherent_model import CsIModel, nsi_charge
from nufog.coherent_profile import FitResult, bracketed_newton, fit, fit_batch, fit_status, newton
from nufog.mediators import Mediator, get_model
from nufog.nuclei import csi, vector_charge
from nufog.progress import Progress

__all__ = [
    "sm_fit",
    "nsi_chi2",
    "nsi_scan",
    "nsi_valley",
    "nsi_profile",
    "profile_intervals",
    "MediatorLimits",
    "mediator_limit",
]

log = logging.getLogger(__name__)


def sm_fit(model: CsIModel) -> dict[str, float | dict | bool | str]:
    """Fit the CEvNS normalisation freely with the other five nuisances profiled.

    The 1 sigma interval is the pair of roots of Delta chi^2(s) = 1 in the signal strength
    s = 1 + alpha_nu, the other nuisances re-profiled at each s. The fitted count is s times the CEvNS
    template summed over the ROI at the fitted nuisances (likewise at the interval ends).

    Returns a dict with ``n_fit``, ``n_fit_err_low``, ``n_fit_err_high``, ``n_fit_err`` (mean of the
    two), ``n_sm``, ``signal_strength``, ``nuisances``, ``chi2`` (deviance at the best fit), ``ndf``
    (bins - 6), ``chi2_ndf``, ``n_observed``, ``n_background``, ``fit_ok`` and ``fit_message``.
    """
    s_sm = model.sm_spectra
    best = fit(model, free_normalisation=True)
    sig = np.array(model.pull_sigmas)
    sig[0] = np.inf
    free = np.ones(6, bool)
    free[0] = False
    h = model.hessian(best.x, s_sm, sig)
    width = float(np.sqrt(2.0 * np.linalg.inv(h)[0, 0]))
    s_hat = 1.0 + best.x[0]

    def f_and_df(strength, x, _idx):
        x = x.copy()
        x[:, 0] = strength - 1.0
        xn, c, _, conv, _ = newton(model, s_sm, x, free, sig)
        ok, _ = fit_status(model, xn, free, conv)
        grad = model.evaluate(xn, s_sm, sig)[2]
        return c - best.chi2 - 1.0, grad[:, 0], xn, ok

    lo = np.array([s_hat - 10 * width, s_hat])
    hi = np.array([s_hat, s_hat + 10 * width])
    ends, x_ends, ok_ends = bracketed_newton(
        lambda t, x, idx: _signed(f_and_df(t, x, idx), idx, (-1.0, 1.0)),
        lo,
        hi,
        np.repeat(best.x[None], 2, axis=0),
        np.array([s_hat - width, s_hat + width]),
        1e-10,
        False,
    )

    def count(x: np.ndarray) -> float:
        return float((1.0 + x[0]) * model.signal_template(s_sm, x[4], x[5]).sum())

    n_fit = count(best.x)
    low, high = count(x_ends[0]), count(x_ends[1])
    n_bins = model.n_pe * model.n_t
    exp = model.expected(s_sm, best.x)
    ok = bool(best.ok and ok_ends.all())
    return {
        "n_fit": n_fit,
        "n_fit_err_low": n_fit - low,
        "n_fit_err_high": high - n_fit,
        "n_fit_err": 0.5 * (high - low),
        "n_sm": model.sm_prediction()["total"],
        "signal_strength": float(s_hat),
        "nuisances": best.nuisances,
        "chi2": float(best.deviance),
        "ndf": n_bins - 6,
        "chi2_ndf": float(best.deviance) / (n_bins - 6),
        "n_observed": float(model.observed.sum()),
        "n_background": float((exp["ss"] + exp["brn"] + exp["nin"]).sum()),
        "fit_ok": ok,
        "fit_message": best.message if ok else f"{best.message}; interval ends ok: {ok_ends.tolist()}",
    }


def _signed(res, idx, signs):
    """Flip f and df for the lower root (Delta chi^2 - 1 falls there), so every root has f rising."""
    f, df, x, ok = res
    sgn = np.asarray(signs)[idx]
    return f * sgn, df * sgn, x, ok


def nsi_chi2(
    model: CsIModel,
    eps_u: float,
    eps_d: float,
    flavours: Sequence[str] = ("nu_e",),
    x0: Sequence[float] | None = None,
) -> FitResult:
    """Profiled fit at one NSI point (nuisances with pulls)."""
    return fit(model, model.nsi_spectra(eps_u, eps_d, flavours), x0=x0)


def _check_grid(g: Sequence[float] | np.ndarray) -> np.ndarray:
    g = np.asarray(g, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(~np.isfinite(g)):
        raise ValueError("eps grids must be non-empty 1-d arrays of finite numbers")
    return g


def nsi_scan(
    eps_u_grid: Sequence[float] | np.ndarray,
    eps_d_grid: Sequence[float] | np.ndarray,
    model: CsIModel,
    *,
    flavours: Sequence[str] = ("nu_e",),
    progress_log: logging.Logger | None = None,
) -> dict[str, np.ndarray | float | tuple]:
    """Delta chi^2 map over (eps_ee^uV, eps_ee^dV) with the six nuisances profiled at every point.

    Only ``flavours`` (default nu_e) get the NSI charge. Delta chi^2 is relative to the smallest chi^2
    found: the grid minimum refined by a local (Nelder-Mead) minimisation inside the grid box. Each
    eps_u row is one batch of fits, warm-started from the previous row. Progress goes to
    ``progress_log`` (default this module's logger) at least every 10 % of the rows.

    Returns a dict with ``eps_u``, ``eps_d``, ``chi2`` and ``delta_chi2`` (n_u, n_d), ``fit_ok``
    (n_u, n_d), ``chi2_min``, ``best`` ((eps_u, eps_d) of the minimum: on the nearly flat bands it is
    poorly defined, see :func:`nsi_valley`), ``delta_chi2_sm`` (at eps = 0).
    """
    eu, ed = _check_grid(eps_u_grid), _check_grid(eps_d_grid)
    sm = fit(model)
    chi = np.empty((eu.size, ed.size))
    ok = np.empty((eu.size, ed.size), bool)
    x = np.repeat(sm.x[None], ed.size, axis=0)
    prog = Progress(eu.size, progress_log or log, what="NSI rows")
    for i, u_val in enumerate(eu):
        r = fit_batch(model, model.nsi_spectra(np.full(ed.size, u_val), ed, flavours), x)
        x, chi[i], ok[i] = r.x, r.chi2, r.ok
        prog.step()
    i0, j0 = np.unravel_index(np.argmin(chi), chi.shape)
    xs = {"x": fit(model, model.nsi_spectra(eu[i0], ed[j0], flavours)).x}

    def f(p: np.ndarray) -> float:
        r = nsi_chi2(model, p[0], p[1], flavours, x0=xs["x"])
        xs["x"] = r.x
        return r.chi2

    # refine inside the grid box only: along the degenerate band chi^2 is nearly flat and an
    # unbounded search drifts far away
    box = [(float(eu.min()), float(eu.max())), (float(ed.min()), float(ed.max()))]
    ref = minimize(
        f, [eu[i0], ed[j0]], method="Nelder-Mead", bounds=box, options={"xatol": 1e-4, "fatol": 1e-5, "maxfev": 200}
    )
    chi_min = min(float(chi.min()), float(ref.fun))
    best = tuple(float(v) for v in ref.x) if ref.fun < chi.min() else (float(eu[i0]), float(ed[j0]))
    if not ok.all():
        log.warning("NSI scan: %d of %d fits failed after retries (flagged fit_ok = False)", (~ok).sum(), ok.size)
    return {
        "eps_u": eu,
        "eps_d": ed,
        "chi2": chi,
        "delta_chi2": chi - chi_min,
        "fit_ok": ok,
        "chi2_min": chi_min,
        "best": best,
        "delta_chi2_sm": sm.chi2 - chi_min,
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


def nsi_profile(
    model: CsIModel,
    parameter: str,
    grid: Sequence[float] | np.ndarray,
    *,
    flavours: Sequence[str] = ("nu_e",),
    progress_log: logging.Logger | None = None,
) -> dict[str, np.ndarray | float]:
    """Profiled chi^2 along one NSI axis with the other at zero (``parameter``: ``eps_u`` or ``eps_d``).

    Returns ``grid``, ``chi2``, ``fit_ok`` and ``chi2_min`` (grid minima refined by a bounded 1-d
    minimisation; there are two nearly equal minima, one per degenerate band)."""
    if parameter not in ("eps_u", "eps_d"):
        raise ValueError(f"parameter must be 'eps_u' or 'eps_d', got {parameter!r}")
    g = _check_grid(grid)

    def spectra(v: np.ndarray | float) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        zero = np.zeros_like(v)
        return model.nsi_spectra(v, zero, flavours) if parameter == "eps_u" else model.nsi_spectra(zero, v, flavours)

    sm = fit(model)
    chunks = np.array_split(np.arange(g.size), min(10, g.size))
    chi, ok = np.empty(g.size), np.empty(g.size, bool)
    prog = Progress(g.size, progress_log or log, what=f"{parameter} profile points")
    for c in chunks:
        r = fit_batch(model, spectra(g[c]), sm.x)
        chi[c], ok[c] = r.chi2, r.ok
        prog.step(c.size)
    chi_min = float(chi.min())
    for j in [j for j in range(1, g.size - 1) if chi[j] <= chi[j - 1] and chi[j] < chi[j + 1]]:
        res = minimize_scalar(
            lambda v: fit(model, spectra(v), sm.x).chi2,
            bounds=(g[j - 1], g[j + 1]),
            method="bounded",
            options={"xatol": 1e-7},
        )
        chi_min = min(chi_min, float(res.fun))
    return {"grid": g, "chi2": chi, "fit_ok": ok, "chi2_min": chi_min, "spectra": spectra}


def profile_intervals(profile: dict, model: CsIModel, cl: float = 0.9) -> list[tuple[float, float, bool, bool]]:
    """Intervals of a 1-d profile (:func:`nsi_profile`) where Delta chi^2 < chi2.ppf(cl, 1) (2.706 at
    90 % CL), the ends refined by root finding (brentq, xtol 1e-7). Returns (lower, upper,
    lower_is_scan_edge, upper_is_scan_edge) per interval (there can be two)."""
    g, chi = profile["grid"], profile["chi2"]
    level = profile["chi2_min"] + float(chi2_dist.ppf(cl, df=1))
    inside = chi < level
    x_ref = fit(model).x

    def f(v: float) -> float:
        return fit(model, profile["spectra"](v), x_ref).chi2 - level

    out = []
    j = 0
    while j < g.size:
        if not inside[j]:
            j += 1
            continue
        k = j
        while k + 1 < g.size and inside[k + 1]:
            k += 1
        lower = g[0] if j == 0 else brentq(f, g[j - 1], g[j], xtol=1e-7)
        upper = g[-1] if k == g.size - 1 else brentq(f, g[k], g[k + 1], xtol=1e-7)
        out.append((float(lower), float(upper), j == 0, k == g.size - 1))
        j = k + 1
    return out


@dataclass(frozen=True)
class MediatorLimits:
    """Limits on |G| per mass: ``m_med_MeV``, ``coupling_limit``, ``fit_ok`` (the profiled fit at the
    limit and the reference SM fit converged, and the root finding converged), ``messages``."""

    m_med_MeV: np.ndarray
    coupling_limit: np.ndarray
    fit_ok: np.ndarray
    messages: tuple[str, ...]


def mediator_limit(
    model_spec: str | Mediator,
    m_grid_MeV: Sequence[float] | np.ndarray,
    cl: float = 0.9,
    model: CsIModel | None = None,
    *,
    sign: int | None = None,
    rtol: float = 1e-8,
    progress_log: logging.Logger | None = None,
) -> MediatorLimits:
    """Upper limit on |G| (coupling product) per mediator mass, nuisances profiled at every point.

    Delta chi^2(G) = chi^2_prof(G) - chi^2_prof(0) (reference: the SM point, physics.md section 4's
    background-only default) is compared with chi2.ppf(cl, 1) (2.706 at 90 % CL). The BSM spectra are
    built for all masses at once (:meth:`CsIModel.bsm_spectra`); the masses are processed in ten
    batches: a bracket is walked from a rate-based guess (|sign G N_L + G^2 N_Q| = 40 events), then
    the root is refined by safeguarded Newton steps in ln G to ``rtol``.

    ``sign`` (vector only): sign of G. Default -1, constructive interference (the paper's benchmark;
    Q_V < 0 and G < 0 adds to |Q_V|). With +1 (destructive) the first crossing is returned: the smallest
    excluded |G|; the allowed island where the rate returns to the SM (near |G| = 2|Q_V|/dQ) lies above
    it and is not reported.
    """
    med = get_model(model_spec) if isinstance(model_spec, str) else model_spec
    if med.target != "nucleus":
        raise ValueError(f"model {med.name!r} does not scatter on nuclei; COHERENT limits need a quark coupling")
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl must satisfy 0 < cl < 1, got {cl!r}")
    if sign is None:
        sign = -1 if med.interferes else 1
    if sign not in (-1, 1):
        raise ValueError(f"sign must be -1 or +1, got {sign!r}")
    if model is None:
        raise ValueError("mediator_limit needs a CsIModel")
    masses = np.atleast_1d(np.asarray(m_grid_MeV, dtype=float))
    lin, quad = model.bsm_spectra(med, masses)
    thr = float(chi2_dist.ppf(cl, df=1))
    sm = fit(model)
    eff = model.efficiency.bin_average(model.fine_edges)[0]
    t_tot = model.time_rows_exact(0.0)[0][:2].sum(axis=1)  # (2,)
    n_l = np.einsum("mgk,k,g->m", lin, eff, t_tot) * sign
    n_q = np.einsum("mgk,k,g->m", quad, eff, t_tot)
    target = 40.0
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = n_l**2 + 4.0 * n_q * target
        g_guess = np.where(n_q > 0, (-n_l + np.sqrt(np.maximum(disc, 0.0))) / (2.0 * n_q), target / np.abs(n_l))
    destructive = med.interferes and sign == 1
    out = np.empty(masses.size)
    ok = np.zeros(masses.size, bool)
    msgs = [""] * masses.size
    prog = Progress(masses.size, progress_log or log, what=f"{med.name} masses")
    for chunk in np.array_split(np.arange(masses.size), min(10, masses.size)):
        out[chunk], ok[chunk], m = _limit_batch(
            model, sm, lin[chunk], quad[chunk], sign, thr, g_guess[chunk], destructive, rtol
        )
        for i, msg in zip(chunk, m):
            msgs[i] = msg
        prog.step(chunk.size)
    ok &= sm.ok
    if not ok.all():
        log.warning("%s: %d of %d limits flagged (fit_ok = False)", med.name, (~ok).sum(), ok.size)
    return MediatorLimits(masses, out, ok, tuple(msgs))


def _limit_batch(model, sm, lin, quad, sign, thr, g0, destructive, rtol):
    n = g0.size
    x = np.repeat(sm.x[None], n, axis=0)

    def f_and_df(g, xw, idx):
        spectra = model.sm_spectra + sign * g[:, None, None] * lin[idx] + g[:, None, None] ** 2 * quad[idx]
        r = fit_batch(model, spectra, xw)
        dspec = sign * lin[idx] + 2.0 * g[:, None, None] * quad[idx]
        df = model.evaluate(r.x, spectra, d_spectra=dspec)[3]
        return r.chi2 - sm.chi2 - thr, df, r.x, r.ok

    # bracket: walk a geometric ladder (batched), keeping the nuisances of the last point
    lo, hi = np.full(n, np.nan), np.full(n, np.nan)
    g = g0 / 64.0 if destructive else g0.copy()
    up, down = (1.5, 1.0) if destructive else (2.0, 0.5)
    pending = np.arange(n)
    for _ in range(200):
        if pending.size == 0:
            break
        f, _, xn, _ = f_and_df(g[pending], x[pending], pending)
        x[pending] = xn
        neg = f < 0
        lo[pending[neg]] = g[pending[neg]]
        hi[pending[~neg]] = g[pending[~neg]]
        found = np.isfinite(lo[pending]) & np.isfinite(hi[pending])
        if destructive:  # from below: the first point with f > 0 ends the walk
            first = ~neg & ~np.isfinite(lo[pending])
            lo[pending[first]] = 0.0
            found |= first
        pending = pending[~found]
        g[pending] = np.where(np.isfinite(lo[pending]), g[pending] * up, g[pending] * down)
    if destructive:  # a crossing below the walk's start: bisect down from it
        zero = lo == 0.0
        lo[zero] = hi[zero] / 1.5**40
    start = np.sqrt(lo * hi)
    g_root, x_root, ok = bracketed_newton(f_and_df, lo, hi, x, start, rtol, True)
    msgs = ["converged" if k else "fit or root finding failed" for k in ok]
    return g_root, ok, msgs
