"""Feldman-Cousins (unified) intervals: exact for a one-bin count, asymptotic for every other data set.

**Exact** (:func:`feldman_cousins_interval`; a one-bin data set with the nuisances fixed): the Neyman
construction of Feldman & Cousins (PRD 57 (1998) 3873) for the signal count s, with likelihood-ratio
ordering R = P(n | s + b) / P(n | max(0, n - b) + b); the coupling follows from the signal count.

**Asymptotic** (:func:`asymptotic_limits`; binned data sets, or profiled nuisances): the same ordering
with the profile-likelihood ratio, i.e. Cowan, Cranmer, Gross, Vitells (EPJC 71 (2011) 1554), section 3.4:
the two-sided statistic for a parameter bounded below by 0,

    t~(G) = -2 ln [ L(G, theta_hat_hat(G)) / L(G_hat, theta_hat) ],   G_hat >= 0 the bounded best fit,

whose distribution under G is (their Eq. 43, with G^2 / sigma^2 -> q_A(G))

    F(t~ | G) = 2 Phi(sqrt t~) - 1                                         t~ <= q_A
              = Phi(sqrt t~) + Phi((t~ + q_A) / (2 sqrt q_A)) - 1           t~ >  q_A

and q_A(G) the statistic on the background-only Asimov data set (nominal nuisances), as for the
asymptotic CL_s. G belongs to the interval when the p-value 1 - F(t~_obs(G) | G) exceeds 1 - cl: the
Neyman construction with likelihood-ratio ordering in the asymptotic limit. The upper end is the limit
(``coupling_limit``); the lower end (``coupling_lower``) is > 0 when the data exclude G = 0 at that CL,
i.e. (G = 0 being tested one-sidedly, q_A(0) = 0) when the excess exceeds Phi^-1(cl) sigma (1.28 at 90 %).

*Parametrisation.* Eq. 43 follows from Wald's approximation t~ = (mu - mu_hat)^2 / sigma^2 with mu_hat
Gaussian, mean mu and a sigma that does not depend on mu: it holds for a parameter on which the expected
counts depend linearly. That is the signal strength s = G^2 for the scalar mediators (no term linear in
G): G itself is the wrong parameter there (the Fisher information in G vanishes at G = 0, and
sigma_G = G / sqrt(q_A) is not constant), and G >= 0 is the same region as s >= 0. We never use a sigma:
t~ and q_A are computed as functions of G, and both are invariant under a monotonic reparametrisation
that maps the boundary to the boundary, so the formula is evaluated exactly as it would be in s. For the
vector mediator the expected counts are b + L G + Q G^2 (interference): linear in G where the
interference dominates (low masses, small G), in G^2 where the quadratic term does; in between no
parameter makes them exactly linear (the signal's bin shape changes with G), and the asymptotic
distribution is an approximation there beyond the usual large-count one.

*Expected bands* (Asimov, like the other asymptotic methods): with x = sqrt(q_A(G)) and the background-only
estimate fluctuated to mu_hat = N sigma, t~ = (x - N)^2 for N >= 0 and x^2 - 2 x N for N < 0; the band
edge is the G where x equals the upper end f(N) of that interval (:func:`band_factor`; f(0) =
Phi^-1((1 + cl) / 2) = 1.645 at 90 %, i.e. the median limit is the two-sided 2.706 of Wilks).

*Validation* (tests/unit/test_feldman_cousins.py): against the exact one-bin construction (b = 3, n =
0..10), and against a toy-MC Neyman construction (the nuisances at their conditional fit, auxiliary
measurements randomised; :func:`toy_pvalue`) on a small binned data set with a profiled nuisance.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtri

from nufog.likelihood import Dataset, Model
from nufog.stats import brentq, poisson_logpmf

__all__ = [
    "feldman_cousins_interval",
    "log_pvalue",
    "band_factor",
    "asymptotic_limits",
    "toy_pvalue",
]

_LOWER_STEPS = 40  # bisection steps for the lower end (relative precision 2^-40 of G_hat)


# --- exact one-bin construction -------------------------------------------------------------------------
def feldman_cousins_interval(n_obs: int, background: float, cl: float = 0.9) -> tuple[float, float]:
    """Feldman-Cousins interval [s_lo, s_up] for a Poisson count with known background.

    Likelihood-ratio ordering R = P(n | s + b) / P(n | max(0, n - b) + b); n is in the acceptance region of
    s when the probability of the n ranked above it is below ``cl``. The interval is the set of s whose
    region contains ``n_obs`` (Neyman construction), found on a grid and refined by bisection to 1e-4.

    >>> [round(x, 2) for x in feldman_cousins_interval(0, 0.0)]   # FC Table IV: [0.00, 2.44]
    [0.0, 2.44]
    """
    if not (float(n_obs) >= 0 and float(n_obs) == round(float(n_obs))) or not background >= 0 or not 0 < cl < 1:
        raise ValueError(
            f"need a whole count n >= 0 (the construction ranks Poisson outcomes), b >= 0 and 0 < cl < 1, "
            f"got n={n_obs!r}, b={background!r}, cl={cl!r}"
        )
    n_obs = int(round(float(n_obs)))
    b = float(background)

    def accepted(s: np.ndarray) -> np.ndarray:
        s = np.atleast_1d(np.asarray(s, dtype=float))
        out = np.empty(s.size, dtype=bool)
        for start in range(0, s.size, 256):  # chunks keep the (s, n) arrays small
            mu = b + s[start : start + 256]
            lo = int(max(0.0, min(n_obs, np.min(mu - 12.0 * np.sqrt(mu) - 30.0))))
            hi = int(max(n_obs, np.max(mu + 12.0 * np.sqrt(mu) + 30.0)))
            n = np.arange(lo, hi + 1)
            best = np.maximum(n - b, 0.0) + b
            log_p = poisson_logpmf(n[None, :], mu[:, None])
            log_r = log_p - poisson_logpmf(n, best)[None, :]
            r_obs = log_r[:, n_obs - lo]
            above = np.where(log_r > r_obs[:, None] + 1e-12, np.exp(log_p), 0.0).sum(axis=1)
            out[start : start + 256] = above < cl
        return out

    width = 0.005 * (1.0 + np.sqrt(b + n_obs))
    top = max(n_obs - b, 0.0) + 10.0 * np.sqrt(n_obs + b + 1.0) + 10.0
    grid = np.arange(0.0, top, width)
    acc = accepted(grid)
    if not acc.any():
        return 0.0, 0.0
    k_hi = int(np.nonzero(acc)[0][-1])
    lo_s, hi_s = grid[k_hi], grid[k_hi] + width
    while hi_s - lo_s > 1e-5:
        mid = 0.5 * (lo_s + hi_s)
        lo_s, hi_s = (mid, hi_s) if accepted(mid)[0] else (lo_s, mid)
    k_lo = int(np.nonzero(acc)[0][0])
    s_lo = 0.0
    if k_lo > 0:
        a, c = grid[k_lo - 1], grid[k_lo]
        while c - a > 1e-5:
            mid = 0.5 * (a + c)
            a, c = (a, mid) if accepted(mid)[0] else (mid, c)
        s_lo = c
    return float(s_lo), float(lo_s)


# --- asymptotic construction ------------------------------------------------------------------------------
def log_pvalue(t: np.ndarray, q_a: np.ndarray) -> np.ndarray:
    """ln(1 - F(t~ | G)) of Cowan et al. Eq. 43 (module docstring), for t~ >= 0 and q_A >= 0.

    q_A = 0 (G = 0, or no sensitivity) gives the one-sided Phi(-sqrt t~).

    >>> round(float(np.exp(log_pvalue(2.705543, 100.0))), 4)   # t~ <= q_A: two-sided, 2.706 <-> 0.10
    0.1
    """
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    q_a = np.maximum(np.asarray(q_a, dtype=float), 0.0)
    sq_t = np.sqrt(t)
    two_sided = np.log(2.0) + log_ndtr(-sq_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.where(q_a > 0, (t + q_a) / (2.0 * np.sqrt(np.where(q_a > 0, q_a, 1.0))), np.inf)
    beyond = np.logaddexp(log_ndtr(-sq_t), log_ndtr(-arg))
    return np.where(t <= q_a, two_sided, beyond)


def band_factor(cl: float, n_sigma: float) -> float:
    """Upper end x = sqrt(q_A) of the asymptotic FC interval when mu_hat = N sigma (module docstring).

    >>> round(band_factor(0.9, 0.0), 4), round(band_factor(0.9, 1.0), 4)   # 1.645, 1 + 1.645
    (1.6449, 2.6449)
    """
    log_alpha = np.log(1.0 - cl)

    def f(x: float) -> float:
        t = (x - n_sigma) ** 2 if n_sigma >= 0 else x * x - 2.0 * x * n_sigma
        return float(log_pvalue(t, x * x)) - log_alpha

    lo = max(n_sigma, 0.0) + 1e-9
    hi = lo + 2.0 * float(ndtri(1.0 - 0.5 * (1.0 - cl))) + 10.0
    return float(brentq(f, lo, hi, xtol=1e-12)) if f(lo) > 0 else lo


def asymptotic_limits(data: Dataset, settings, expected: bool = True) -> dict[str, np.ndarray]:
    """``coupling_limits`` for ``method: feldman_cousins`` on a binned or profiled data set.

    Returns ``m_med_MeV``, ``coupling_limit`` (upper end), ``coupling_lower`` (lower end, 0 when the
    interval reaches G = 0), ``fit_ok`` and, if ``expected``, the band columns of
    :data:`nufog.inference.BANDS` (Asimov, :func:`band_factor`).
    """
    from nufog.inference import _observed_limit, asimov_bands
    from nufog.statistic import Statistic

    log_alpha = np.log(1.0 - settings.cl)

    def criterion(d: Dataset):
        stat = Statistic(d, "best_fit")  # t~ for G >= G_hat (0 below: there the upper end is not)
        asimov = Statistic(d.with_observed(d.expected_sm()), "background_only")

        def h(g, midx):
            return log_alpha - log_pvalue(stat(g, midx), asimov(g, midx))

        return h, stat, asimov

    g_up, found, stat, asimov = _observed_limit(criterion, data)
    out: dict[str, np.ndarray] = {"m_med_MeV": data.masses_MeV.copy()}
    out["coupling_limit"] = np.where(found, g_up, np.nan)
    ok = found & stat.ok & asimov.ok
    out["coupling_lower"], ok_lower = _lower_end(stat, asimov, log_alpha)
    ok &= ok_lower
    if expected:  # Asimov band edges, as in inference.coupling_limits, with FC's f(N)
        bands, ok_bands = asimov_bands(data, asimov, lambda n_sigma: band_factor(settings.cl, n_sigma))
        out.update(bands)
        ok &= ok_bands
    out["fit_ok"] = ok
    return out


def _lower_end(stat, asimov, log_alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower end of the interval at every mass: 0 where G = 0 is accepted, else the root of the p-value
    in (0, G_hat) by bisection (t~ two-sided there: the profiled fit against the bounded best fit)."""
    model, g_hat = stat.model, stat.g_hat
    n_mass = g_hat.size

    def rejected(u: np.ndarray, midx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = u * g_hat[midx]
        fit = model.profile(g, midx, theta0=stat.theta[midx])
        t = fit.nll2 - stat.ref[midx]
        return log_alpha - log_pvalue(t, asimov(g, midx)) > 0, fit.ok

    lower = np.zeros(n_mass)
    ok = np.ones(n_mass, dtype=bool)
    cand = np.nonzero(g_hat > 0)[0]
    if cand.size == 0:
        return lower, ok
    at_zero, ok_zero = rejected(np.zeros(cand.size), cand)
    ok[cand] = ok_zero
    midx = cand[at_zero]
    lo, hi = np.zeros(midx.size), np.ones(midx.size)  # u = G / G_hat: rejected at lo, accepted at hi
    for _ in range(_LOWER_STEPS):
        if midx.size == 0:
            break
        mid = 0.5 * (lo + hi)
        rej, fit_ok = rejected(mid, midx)
        lo, hi = np.where(rej, mid, lo), np.where(rej, hi, mid)
        ok[midx] &= fit_ok
    lower[midx] = hi * g_hat[midx]
    return lower, ok


# --- toy-MC Neyman construction (validation) ------------------------------------------------------------
def toy_pvalue(
    data: Dataset, g: float, mass_index: int = 0, n_toys: int = 2000, seed: int = 1
) -> tuple[float, float, np.ndarray]:
    """Toy-MC p-value of the observed t~(G): (observed t~, p_toys, toy t~ values).

    Toys of the profile construction at (G, theta_hat_hat(G)) (:func:`nufog.toys.draw_toys`, seeded), each
    fitted at G and over G >= 0 (two-sided t~); p = P(t~_toy >= t~_obs). G is in the toy interval when
    p > 1 - cl: the Neyman construction with likelihood-ratio ordering, without asymptotics.
    """
    from nufog.toys import draw_toys, toy_statistic

    model = Model(data)
    rng = np.random.default_rng(seed)
    uniforms = rng.random((n_toys, data.n_bins))
    normals = rng.standard_normal((n_toys, model.n_nuisances))
    midx = np.array([mass_index])
    g_arr = np.array([float(g)])
    cond = model.profile(g_arr, midx)
    zeros = np.zeros((1, model.n_nuisances))
    t_obs, _, ok_obs = toy_statistic(model, g_arr, midx, data.observed[None, :], zeros, cond.theta, one_sided=False)
    counts, aux = draw_toys(model, cond.theta, g_arr, midx, uniforms, normals)
    rep = np.repeat(midx, n_toys)
    t_toys, _, ok = toy_statistic(
        model, np.repeat(g_arr, n_toys), rep, counts, aux, np.repeat(cond.theta, n_toys, axis=0), one_sided=False
    )
    if not (ok_obs[0] and ok.mean() > 0.99):
        raise RuntimeError(f"toy Neyman construction: fits failed at G = {g:g}")
    return float(t_obs[0]), float(np.mean(t_toys >= t_obs[0] - 1e-9)), t_toys
