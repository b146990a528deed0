"""Toy Monte Carlo CL_s for one data set (``python -m nufog upper-limit --method cls --toys N``).

For a tested signal G the test statistic q(G) (one-sided: 0 when the best fit G_hat >= 0 exceeds G) is
computed on the data and on toys drawn, with a seeded generator, from the expectation at G and at
G = 0 with the nuisances at their conditional best-fit values on the data (the "profile construction").
p_{s+b} = P(q >= q_obs | G), 1 - p_b = P(q >= q_obs | 0), CL_s = p_{s+b} / (1 - p_b). The same random
numbers are reused for every G (common random numbers), so CL_s is smooth in G and the upper limit,
where CL_s = 1 - cl, is found by bisection in log G. Ties (discrete counts) count as ``>=``.

The limit jobs (``limits.cls_mode: toys``) use :func:`toy_cls_limits`: the same CL_s, vectorised over
masses and toys, with the auxiliary measurements of the constrained nuisances randomised as well
(global observables a_k ~ N(theta_hat_hat_k, 1), the pull (theta_k - a_k)^2 in each toy's fit: the
LHC "profile construction"); :func:`toy_statistic` is the toy statistic it and the Feldman-Cousins
toy check share.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from nufog.likelihood import Dataset, FitResult, Model
from nufog.roots import illinois_log
from nufog.stats import poisson_ppf

log = logging.getLogger(__name__)
_TOY_ELEMENTS = 6_000_000  # (masses x toys x bins x parameters) per vectorised fit: bounded memory
_TIE = 1e-7  # a toy's q within this of the observed q counts as >= (equal counts, fit noise ~1e-10)
_LOG_TOL = 5e-3  # relative precision of the toy limit (below its Monte-Carlo error at <= 40 000 toys)
_TOY_TOL = 1e-6  # convergence of a toy fit (Newton decrement, units of -2 ln L): q to ~1e-6
_BRACKET = 1.15  # the root is first bracketed by [G_asymptotic / 1.15, G_asymptotic * 1.15]

__all__ = ["toy_cls_upper", "toy_cls_limits", "toy_statistic", "draw_toys", "poisson_quantile"]


def _ratio(cond_nll2: np.ndarray, best_nll2: np.ndarray, g_hat: np.ndarray, g, one_sided: bool = True) -> np.ndarray:
    """The profile-likelihood ratio q = -2 ln L(G) + 2 ln L(G_hat) >= 0 from -2 ln L of the fit at G and of
    the fit over G >= 0 (at G_hat); one-sided (CL_s): q = 0 when G_hat > G."""
    q = np.maximum(cond_nll2 - np.minimum(best_nll2, cond_nll2), 0.0)
    return np.where(g_hat > g, 0.0, q) if one_sided else q


def _q(model: Model, g: float, counts: np.ndarray) -> np.ndarray:
    """One-sided q(g) for every row of ``counts`` (toys), nuisances profiled."""
    p = counts.shape[0]
    midx = np.zeros(p, dtype=int)
    cond = model.profile(np.full(p, g), midx, observed=counts)
    best = model.profile(np.full(p, g), midx, free_g=True, observed=counts)
    return _ratio(cond.nll2, best.nll2, best.g, g), _toy_fit_ok(model, cond) & _toy_fit_ok(model, best)


def toy_cls_upper(data: Dataset, cl: float = 0.9, n_toys: int = 2000, seed: int = 1) -> tuple[float, float]:
    """Upper limit on G (mass index 0) by toy CL_s; returns (limit, its Monte-Carlo standard error).

    The standard error comes from the binomial spread of p_{s+b} at the limit and the local slope of CL_s.
    """
    if data.signals == () or not 0 < cl < 1 or n_toys < 100:
        raise ValueError("toy CLs needs a signal, 0 < cl < 1 and at least 100 toys")
    model = Model(data)
    rng = np.random.default_rng(seed)
    uniforms = rng.random((2, n_toys, data.n_bins))  # common random numbers for every tested G
    alpha = 1.0 - cl
    obs = data.observed[None, :]

    def cls(g: float) -> float:
        q_obs = float(_q(model, g, obs)[0][0])
        cond_g = model.profile(np.array([g]), np.zeros(1, dtype=int))
        cond_0 = model.profile(np.array([0.0]), np.zeros(1, dtype=int))
        mu_g, _ = model.evaluate(cond_g.theta, np.array([g]), np.zeros(1, dtype=int), jacobian=False)
        mu_0, _ = model.evaluate(cond_0.theta, np.array([0.0]), np.zeros(1, dtype=int), jacobian=False)

        toys_sb = poisson_ppf(uniforms[0], mu_g)
        toys_b = poisson_ppf(uniforms[1], mu_0)
        q_sb, ok_sb = _q(model, g, toys_sb)
        q_b, ok_b = _q(model, g, toys_b)
        if _failed_fraction(ok_sb, ok_b) > 0.01:
            raise RuntimeError(f"toy CLs: more than 1 % of the toy fits failed at G = {g:g}")
        p_sb = np.mean(q_sb >= q_obs - 1e-9)
        one_minus_pb = max(np.mean(q_b >= q_obs - 1e-9), 1.0 / n_toys)
        return p_sb / one_minus_pb

    scale = float(np.abs(data.signals[0].terms[0, 0]).sum() + data.signals[0].terms[1, 0].sum())
    lo, hi = 1e-6 / scale, max(1.0, 3.0 * np.sqrt(data.expected_sm().sum() + data.observed.sum() + 1.0)) / scale
    while cls(hi) > alpha:
        hi *= 2.0
    for _ in range(40):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if cls(mid) > alpha else (lo, mid)
        if hi / lo - 1 < 1e-4:
            break
    g_up = float(np.sqrt(lo * hi))
    step = 0.02 * g_up
    slope = (cls(g_up + step) - cls(g_up - step)) / (2 * step)
    err = float(np.sqrt(alpha * (1 - alpha) / n_toys) / abs(slope)) if slope != 0 else float("nan")
    return g_up, err


# --- vectorised toys for the limit jobs ------------------------------------------------------------------
def poisson_quantile(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Smallest n with P(N <= n | mu) >= u (``scipy.stats.poisson.ppf``), by a vectorised CDF walk when
    every mu <= 50 (toys of many small bins: 10-100x faster than ``ppf``)."""
    u, mu = np.broadcast_arrays(np.asarray(u, float), np.asarray(mu, float))
    if mu.size == 0 or mu.max() > 50.0:
        return poisson_ppf(u, mu)
    pmf = np.exp(-mu)
    cdf = pmf.copy()
    n = np.zeros(mu.shape)
    active = u > cdf
    for k in range(1, 400):  # P(N > 400 | mu <= 50) is far below double precision
        if not active.any():
            break
        pmf = pmf * mu / k
        cdf = cdf + pmf
        n += active
        active &= u > cdf
    return n


def draw_toys(
    model: Model, theta: np.ndarray, g: np.ndarray, midx: np.ndarray, uniforms: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Toys of the profile construction at P points (G, theta, mass): counts (P * T, B) and auxiliary
    measurements (P * T, K), from the common random numbers ``uniforms`` (T, B) and ``normals`` (T, K)."""
    mu, _ = model.evaluate(theta, g, midx, jacobian=False)
    counts = poisson_quantile(uniforms[None, :, :], mu[:, None, :])
    aux = np.where(model.constrained, np.atleast_2d(theta)[:, None, :] + normals[None, :, :], 0.0)
    return counts.reshape(-1, mu.shape[-1]), aux.reshape(counts.shape[0] * counts.shape[1], model.n_nuisances)


def toy_statistic(
    model: Model,
    g: np.ndarray,
    midx: np.ndarray,
    counts: np.ndarray,
    aux: np.ndarray,
    theta0: np.ndarray,
    one_sided: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The profile-likelihood ratio of every toy at its G: (q, best-fit G_hat >= 0, fit ok).

    One-sided (CL_s): q = 0 when G_hat > G; two-sided (Feldman-Cousins, Cowan et al.'s t~): not. The fit
    over G >= 0 starts at the tested G (for a purely quadratic signal G = 0 is a stationary point).
    """
    cond = model.profile(g, midx, theta0=theta0, observed=counts, aux=aux)
    best = model.profile(g, midx, theta0=theta0, free_g=True, observed=counts, aux=aux)
    return _ratio(cond.nll2, best.nll2, best.g, g, one_sided), best.g, cond.ok & best.ok


def toy_cls_limits(data: Dataset, settings, expected: bool = True) -> dict[str, np.ndarray]:
    """``coupling_limits`` with ``cls_mode: toys``: the observed CL_s limit at every mass from toys.

    ``settings.toys`` = {n, seed}. The random numbers (uniforms for the Poisson counts, normals for the
    auxiliary measurements; background-only and signal-plus-background sets) are drawn once from the
    seeded generator and reused for every mass and every tested G: the same inputs give the same bytes,
    and CL_s(G) is smooth. The root CL_s = 1 - cl is bracketed around the asymptotic CL_s limit and
    refined by the Illinois method in log G to 5e-3 (relative); every toy fit is warm-started from the same
    toy's fit at the previous G. The expected median and bands are the
    asymptotic (Asimov) ones of ``cls_mode: asymptotic``. Extra column ``coupling_limit_mc_error``: the
    Monte-Carlo standard error of the limit (binomial errors of p_{s+b} and 1 - p_b at the limit, through
    the slope of ln CL_s over the initial bracket). ``fit_ok`` is False where more than 1 % of the toy
    fits failed at the last tested G (next to the limit; :func:`_toy_fit_ok`) or no crossing was found.
    """
    from nufog.inference import coupling_limits
    from nufog.progress import Progress
    from nufog.statistic import Statistic, coupling_for_events

    n_toys, seed = int(settings.toys["n"]), int(settings.toys["seed"])
    out = coupling_limits(data, replace(settings, cls_mode="asymptotic"), expected)
    model = Model(data)
    n_mass, n_bins, k = data.masses_MeV.size, data.n_bins, model.n_nuisances
    rng = np.random.default_rng(seed)
    uniforms = rng.random((2, n_toys, n_bins))  # [0]: s+b toys, [1]: background-only toys
    normals = rng.standard_normal((2, n_toys, k))
    stat = Statistic(data, "best_fit")  # the one-sided q~ on the data, and theta_hat_hat(G) for the toys
    zero = model.profile(np.zeros(1), np.zeros(1, dtype=int))  # background-only toys: G = 0, theta_hat_hat(0)
    b_counts, b_aux = draw_toys(model, zero.theta, np.zeros(1), np.zeros(1, dtype=int), uniforms[1], normals[1])
    guess = np.asarray(out["coupling_limit"], float)
    events = 3.0 * np.sqrt(data.expected_sm().sum() + data.observed.sum() + 1.0)
    guess = np.where(np.isfinite(guess) & (guess > 0), guess, coupling_for_events(data, np.full(n_mass, events)))
    limit, error = np.full(n_mass, np.nan), np.full(n_mass, np.nan)
    ok = np.zeros(n_mass, dtype=bool)
    step = max(1, _TOY_ELEMENTS // (n_toys * n_bins * (k + 2)))
    progress = Progress(n_mass, log, what=f"masses ({data.name}, toy CLs, {n_toys} toys)")
    for start in range(0, n_mass, step):
        midx = np.arange(start, min(start + step, n_mass))
        chunk = _ToyChunk(model, stat, midx, uniforms[0], normals[0], b_counts, b_aux, zero.theta[0], guess[midx])
        limit[midx], error[midx], ok[midx] = chunk.solve(1.0 - settings.cl)
        progress.step(midx.size)
    out["coupling_limit"] = limit
    out["coupling_limit_mc_error"] = error
    out["fit_ok"] = np.asarray(out["fit_ok"], bool) & ok
    return out


def _toy_fit_ok(model: Model, fit: FitResult) -> np.ndarray:
    """A toy fit counts when it converged inside the search box. One that ends on a physical bound (a
    normalisation at 0: COHERENT's neutrino-induced neutrons in ~3 % of its toys) is that toy's constrained
    maximum-likelihood estimate, a valid outcome of the ensemble, so it is not a failure (for the data's own
    fit, ``FitResult.ok`` still flags it)."""
    converged = fit.ok if fit.converged is None else fit.converged
    return converged & ~model.on_box(fit.theta)


def _failed_fraction(ok_sb: np.ndarray, ok_b: np.ndarray) -> np.ndarray:
    """Per mass (rows): the larger fraction of failed fits among the signal-plus-background and the
    background-only toys (columns), as a count over the number of toys, so that 1 failure in 100 is exactly
    the 1 % that :meth:`_ToyChunk.solve` allows (1 - 0.99 is 0.010000000000000009)."""
    n_toys = ok_sb.shape[-1]
    return (n_toys - np.minimum(ok_sb.sum(axis=-1), ok_b.sum(axis=-1))) / n_toys


class _ToyChunk:
    """Toy CL_s(G) at a few masses at once (see :func:`toy_cls_limits`).

    Every toy fit is warm-started from the same toy's solution at the previous tested G (common random
    numbers: neighbouring G give nearly the same toys), with tolerance :data:`_TOY_TOL`.
    """

    def __init__(self, model, stat, midx, u_sb, z_sb, b_counts, b_aux, theta_b, guess) -> None:
        self.model, self.stat, self.midx, self.u_sb, self.z_sb = model, stat, midx, u_sb, z_sb
        t = self.n_toys = u_sb.shape[0]
        n = midx.size
        self.b_counts = np.tile(b_counts, (n, 1))
        self.b_aux = np.tile(b_aux, (n, 1))
        self.b_theta = np.array(np.broadcast_to(theta_b, (n * t, theta_b.size)))  # warm starts
        # background-only toys: the fit over G >= 0 does not depend on the tested G: once per mass
        best = model.profile(
            np.repeat(guess, t),
            np.repeat(midx, t),
            theta0=self.b_theta,
            free_g=True,
            observed=self.b_counts,
            aux=self.b_aux,
            tol=_TOY_TOL,
        )
        self.b_best_nll2, self.b_best_g, self.b_best_ok = best.nll2, best.g, _toy_fit_ok(model, best)
        self.sb_theta = self.sb_free_theta = None  # set at the first evaluation
        self.sb_free_g = np.repeat(guess, t)
        self.guess = guess
        self.failed = np.zeros(n)  # fraction of failed toy fits at the latest evaluation (next to the root)
        self.p_sb, self.one_minus_pb = np.full(n, np.nan), np.full(n, np.nan)  # at the latest evaluation

    def cls(self, g: np.ndarray, sub: np.ndarray) -> np.ndarray:
        """CL_s at G ``g`` for the chunk's masses ``sub`` (positions in the chunk)."""
        t, m, model = self.n_toys, self.midx[sub], self.model
        q_obs = self.stat(g, m)
        theta = self.stat.theta[m]
        g_rep, m_rep = np.repeat(g, t), np.repeat(m, t)
        rows = (sub[:, None] * t + np.arange(t)).ravel()
        if self.sb_theta is None:
            self.sb_theta = np.repeat(self.stat.theta[self.midx], t, axis=0)
            self.sb_free_theta = self.sb_theta.copy()
        counts, aux = draw_toys(model, theta, g, m, self.u_sb, self.z_sb)
        cond = model.profile(g_rep, m_rep, theta0=self.sb_theta[rows], observed=counts, aux=aux, tol=_TOY_TOL)
        start = np.maximum(self.sb_free_g[rows], 0.3 * g_rep)  # not 0: a stationary point of a G^2 signal
        best = model.profile(
            start, m_rep, theta0=self.sb_free_theta[rows], free_g=True, observed=counts, aux=aux, tol=_TOY_TOL
        )
        self.sb_theta[rows], self.sb_free_theta[rows], self.sb_free_g[rows] = cond.theta, best.theta, best.g
        q_sb, ok_sb = _ratio(cond.nll2, best.nll2, best.g, g_rep), _toy_fit_ok(model, cond) & _toy_fit_ok(model, best)
        cond_b = model.profile(
            g_rep, m_rep, theta0=self.b_theta[rows], observed=self.b_counts[rows], aux=self.b_aux[rows], tol=_TOY_TOL
        )
        self.b_theta[rows] = cond_b.theta
        q_b = _ratio(cond_b.nll2, self.b_best_nll2[rows], self.b_best_g[rows], g_rep)
        ok_b = _toy_fit_ok(model, cond_b) & self.b_best_ok[rows]
        self.failed[sub] = _failed_fraction(ok_sb.reshape(-1, t), ok_b.reshape(-1, t))
        threshold = (q_obs - _TIE)[:, None]
        p_sb = (q_sb.reshape(-1, t) >= threshold).mean(axis=1)
        one_minus_pb = np.maximum((q_b.reshape(-1, t) >= threshold).mean(axis=1), 1.0 / t)
        self.p_sb[sub], self.one_minus_pb[sub] = p_sb, one_minus_pb
        return p_sb / one_minus_pb

    def h(self, g: np.ndarray, sub: np.ndarray) -> np.ndarray:
        """ln(1 - cl) - ln CL_s, clipped: increasing in G, zero at the limit."""
        return np.clip(self.log_alpha - np.log(np.maximum(self.cls(g, sub), 1e-30)), -30.0, 30.0)

    def solve(self, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.log_alpha = np.log(alpha)
        n = self.midx.size
        every = np.arange(n)
        lo, hi = self.guess / _BRACKET, self.guess * _BRACKET
        h_lo, h_hi = self.h(lo, every), self.h(hi, every)
        slope = (h_hi - h_lo) / np.log(hi / lo)  # -d ln CL_s / d ln G over the initial bracket
        for _ in range(12):  # widen
            low_bad, high_bad = h_lo > 0, h_hi <= 0
            if not (low_bad.any() or high_bad.any()):
                break
            lo, hi = np.where(low_bad, lo / 1.5, lo), np.where(high_bad, hi * 1.5, hi)
            if low_bad.any():
                h_lo[low_bad] = self.h(lo[low_bad], every[low_bad])
            if high_bad.any():
                h_hi[high_bad] = self.h(hi[high_bad], every[high_bad])
        found = (h_lo <= 0) & (h_hi > 0)
        x_lo, x_hi = np.log(lo), np.log(hi)
        x_lo, x_hi = illinois_log(self.h, x_lo, x_hi, h_lo, h_hi, found, every, _LOG_TOL, max_iter=60, clip=0.02)
        root = np.exp(0.5 * (x_lo + x_hi))
        found &= np.isfinite(root)  # a NaN criterion inside the bracket: no root
        # binomial errors of p_{s+b} and 1 - p_b (at the latest evaluation, within _LOG_TOL of the root)
        # through the slope of ln CL_s in ln G over the initial bracket
        t, p_sb, one_minus_pb = self.n_toys, self.p_sb, self.one_minus_pb
        var_log = (1.0 - p_sb) / np.maximum(p_sb * t, 1.0) + (1.0 - one_minus_pb) / np.maximum(one_minus_pb * t, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.where(slope > 0, root * np.sqrt(var_log) / slope, np.nan)
        ok = found & (self.failed <= 0.01)
        return np.where(found, root, np.nan), error, ok
