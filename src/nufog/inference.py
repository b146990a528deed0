"""Limits on the coupling product from the binned likelihood: Wilks, CLs, Feldman-Cousins, expected bands.

Test statistic at fixed mediator mass m (physics.md section 8; Cowan, Cranmer, Gross, Vitells,
EPJC 71 (2011) 1554)::

    q(G) = -2 ln L(G, theta_hat_hat(G)) + 2 ln L(G_ref, theta_hat_hat(G_ref))

with the reference ``background_only`` (G_ref = 0, the paper's Eqs. 20-22) or ``best_fit`` (G_ref = the
profiled best fit G_hat >= 0, and q = 0 for G < G_hat). Methods (``limits.method``):

- ``wilks``: the limit is where q = chi2.ppf(cl, 1) (2.706 at 90 % CL, the paper's threshold).
- ``cls``: CL_s = p_{s+b} / (1 - p_b) = 1 - cl, with q the one-sided best-fit statistic (whatever
  ``reference``: that is the statistic whose asymptotic distribution the formulae assume).
  Asymptotically p_{s+b} = 1 - Phi(sqrt q) and 1 - p_b = Phi(sqrt q_A - sqrt q), q_A on the Asimov
  data set (background only, nominal nuisances). For a one-bin data set without profiled nuisances
  the exact Poisson sums are used:
  CL_s = P(N <= n | mu(G)) / P(N <= n | mu(0)) (``cls_mode: auto``).
  ``cls_mode: toys``: CL_s from seeded toys (:func:`nufog.toys.toy_cls_limits`; bands Asimov).
- ``feldman_cousins``: the unified interval of Feldman & Cousins (PRD 57 (1998) 3873) for the signal count
  of a one-bin data set, nuisances at their nominal values; the coupling follows from the signal count.
  Binned or profiled data sets: the same ordering with the profile-likelihood ratio in the asymptotic
  limit (Cowan et al. section 3.4; :mod:`nufog.feldman_cousins`).

Expected limits (``expected_median``, ``expected_minus/plus1/2``): for ``wilks`` and asymptotic ``cls``
the Asimov recipe: sigma^2 = G^2 / q_A(G), i.e. the band edge N solves sqrt(q_A(G)) = f(N) with
f(N) = N + sqrt(N^2 + z^2) (wilks, background-only reference), N + z (wilks, best fit, N >= 0),
Phi^-1(1 - alpha Phi(N)) + N (cls), z = sqrt(threshold), alpha = 1 - cl. For the exact one-bin methods the
band edges are the limits for the Poisson quantiles of n under the background-only hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import gammaincc, log_ndtr, ndtr, ndtri

from nufog.feldman_cousins import feldman_cousins_interval
from nufog.likelihood import Dataset, Model
from nufog.roots import illinois_log
from nufog.stats import delta_chi2_threshold, poisson_ppf

__all__ = [
    "METHODS",
    "REFERENCES",
    "BANDS",
    "LimitSettings",
    "coupling_limits",
    "signal_dataset",
    "feldman_cousins_interval",
    "exact_cls_upper",
    "discovery_significance",
]

METHODS = ("wilks", "cls", "feldman_cousins")
REFERENCES = ("background_only", "best_fit")
CLS_MODES = ("auto", "asymptotic", "toys")
#: expected-limit columns and their band N (in sigma)
BANDS = {"expected_minus2": -2, "expected_minus1": -1, "expected_median": 0, "expected_plus1": 1, "expected_plus2": 2}
_LOG_TOL = 1e-9  # relative precision of the coupling limits
_BAND_TOL = 1e-7  # and of the expected limits (band edges)
_SCAN_ELEMENTS = 4_000_000  # (points x bins) per evaluation of the bracket scan


@dataclass(frozen=True)
class LimitSettings:
    """``limits`` config keys used by the limit setting."""

    cl: float = 0.9
    method: str = "wilks"
    reference: str = "background_only"
    cls_mode: str = "auto"
    profile: bool = True
    #: toy CL_s (``cls_mode: toys``): number of toys and the generator's seed
    toys: dict | None = None

    def __post_init__(self) -> None:
        if not 0 < self.cl < 1:
            raise ValueError(f"limits.cl must lie in (0, 1), got {self.cl!r}")
        if self.method not in METHODS:
            raise ValueError(f"limits.method must be one of {METHODS}, got {self.method!r}")
        if self.reference not in REFERENCES:
            raise ValueError(f"limits.reference must be one of {REFERENCES}, got {self.reference!r}")
        if self.cls_mode not in CLS_MODES:
            raise ValueError(f"limits.cls_mode must be one of {CLS_MODES}, got {self.cls_mode!r}")
        if self.cls_mode == "toys":
            toys = {"n": 2000, "seed": 1, **(self.toys or {})}
            if set(toys) != {"n", "seed"} or int(toys["n"]) < 100 or int(toys["seed"]) < 0:
                raise ValueError(f"limits.toys must be {{n: >= 100, seed: >= 0}}, got {self.toys!r}")
            object.__setattr__(self, "toys", {"n": int(toys["n"]), "seed": int(toys["seed"])})

    @property
    def threshold(self) -> float:
        return delta_chi2_threshold(self.cl)


# --- the statistic ----------------------------------------------------------------------------------------
class _Statistic:
    """q(G) at every mass of a data set, with warm starts and the reference fits cached.

    ``ok`` per mass: the reference fits and the most recent fit at that mass (the root finders end next to
    the root) converged. Fits far from the root (bracket ends, where a nuisance may end on its bound) do
    not flag the limit.
    """

    def __init__(self, data: Dataset, reference: str) -> None:
        self.model = Model(data)
        self.reference = reference
        self.n_mass = data.masses_MeV.size
        self.theta = np.zeros((self.n_mass, self.model.n_nuisances))
        #: status of the reference fit and of the latest fit at each mass (the limit's own fit, once the
        #: root finder has evaluated the final coupling last)
        self.ref_ok = np.ones(self.n_mass, dtype=bool)
        self.last_ok = np.ones(self.n_mass, dtype=bool)
        zero = self.model.profile(np.zeros(1), np.zeros(1, dtype=int))
        self.ref_ok &= bool(zero.ok[0])
        self.ref = np.full(self.n_mass, zero.nll2[0])
        self.g_hat = np.zeros(self.n_mass)
        if reference == "best_fit" and data.signals:
            midx = np.arange(self.n_mass)
            # G = 0 is a stationary point when the signal has no term linear in G (scalar mediators): a fit
            # started there stays there. Start also from the G of the observed excess (>= 1 event) and keep
            # the better fit at every mass.
            excess = max(float((data.observed - data.expected_sm()).sum()), 1.0)
            g_start = _coupling_for_events(data, np.full(self.n_mass, excess))
            g_start = np.where(np.isfinite(g_start), g_start, 0.0)
            at_zero = self.model.profile(np.zeros(self.n_mass), midx, free_g=True)
            above = self.model.profile(g_start, midx, free_g=True)
            use = above.nll2 < at_zero.nll2
            best_nll2, best_g = np.where(use, above.nll2, at_zero.nll2), np.where(use, above.g, at_zero.g)
            self.ref_ok &= np.where(use, above.ok, at_zero.ok)
            self.ref, self.g_hat = np.minimum(best_nll2, self.ref), best_g

    @property
    def ok(self) -> np.ndarray:
        return self.ref_ok & self.last_ok

    def __call__(self, g: np.ndarray, midx: np.ndarray) -> np.ndarray:
        fit = self.model.profile(g, midx, theta0=self.theta[midx])
        self.theta[midx] = fit.theta
        self.last_ok[midx] = fit.ok
        q = fit.nll2 - self.ref[midx]
        return np.where(g < self.g_hat[midx], 0.0, q)


def _coupling_for_events(data: Dataset, events: np.ndarray) -> np.ndarray:
    """G at which |L| G + Q G^2 summed over bins gives ``events`` (per mass, broadcast)."""
    lin = np.abs(sum(g.terms[0] for g in data.signals)).sum(axis=-1)
    quad = sum(g.terms[1] for g in data.signals).sum(axis=-1)
    ev = np.asarray(events, dtype=float)
    lin = lin.reshape(lin.shape + (1,) * (ev.ndim - 1)) if ev.ndim > 1 else lin
    quad = quad.reshape(lin.shape)
    return 2.0 * ev / (lin + np.sqrt(lin**2 + 4.0 * quad * ev))


def _solve_increasing(
    h: Callable[[np.ndarray, np.ndarray], np.ndarray],
    data: Dataset,
    coarse: Callable | None = None,
    masses: np.ndarray | None = None,
    tol: float = _LOG_TOL,
) -> tuple[np.ndarray, np.ndarray]:
    """Root in G > 0 of an increasing criterion h(G, mass_index) at every mass (or at the mass indices
    ``masses``); (G, found), arrays over those masses.

    The bracket comes from a scan in the number of new-physics events (1e-3 to 1e8) of ``coarse`` (a
    cheap version of h, e.g. with the nuisances fixed; default h), then is widened with h itself, and
    the root is refined by the Illinois method in log G to ``tol``.
    """
    midx = np.arange(data.masses_MeV.size) if masses is None else np.asarray(masses, dtype=int)
    n_mass = midx.size
    events = np.geomspace(1e-3, 1e8, 56)
    grid = _coupling_for_events(data, events[None, :] * np.ones((data.masses_MeV.size, 1)))[midx]  # (M, 56)
    crit = coarse or h
    flat_g, flat_m = grid.ravel(), np.repeat(midx, events.size)
    step = max(1, _SCAN_ELEMENTS // max(data.n_bins, 1))  # points per call: bounded memory on big grids
    values = np.concatenate([crit(flat_g[k : k + step], flat_m[k : k + step]) for k in range(0, flat_g.size, step)])
    values = values.reshape(grid.shape)
    above = values > 0
    first = np.where(above.any(axis=1), above.argmax(axis=1), events.size - 1)
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


def _solve_profiled(
    h: Callable[[np.ndarray, np.ndarray], np.ndarray], data: Dataset, coarse: Callable, tol: float = _LOG_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """Root of the profiled criterion h at every mass, started from the root of ``coarse`` (h with the
    nuisances fixed, cheap): secant steps in log G, kept inside the bracket found on the way (bisection
    when a step leaves it). A profiled root sits near the fixed one, so a few profiled fits per mass
    replace the bracket scan; masses that do not converge in 16 steps fall back to
    :func:`_solve_increasing`. Returns (G, found) like it.
    """
    g0, found0 = _solve_increasing(coarse, data, tol=1e-6)
    n_mass = data.masses_MeV.size
    midx = np.arange(n_mass)
    x_prev = np.log(np.where(found0, g0, 1.0))
    f_prev = h(np.exp(x_prev), midx)
    # profiling the nuisances weakens a limit: the second point is 2 % above the fixed-nuisance root
    x = x_prev + np.where(f_prev > 0, -0.02, 0.02)
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
        f_new = h(np.exp(x_new), midx[rows])
        converged = np.abs(x_new - x[rows]) < tol
        x_prev[rows], f_prev[rows] = x[rows], f[rows]
        x[rows], f[rows] = x_new, f_new
        lo[rows] = np.where(f_new <= 0, np.maximum(lo[rows], x_new), lo[rows])
        hi[rows] = np.where(f_new > 0, np.minimum(hi[rows], x_new), hi[rows])
        active[rows[~np.isfinite(f_new)]] = False
        done[rows[converged & np.isfinite(f_new)]] = True
    root = np.exp(x)
    if not done.all():  # no good start or slow: the bracket scan at those masses
        rest = np.nonzero(~done)[0]
        root[rest], ok = _solve_increasing(h, data, coarse, masses=rest, tol=tol)
        done[rest] = ok
    return np.where(done, root, np.nan), done


def _band_factor(settings: LimitSettings, n_sigma: float) -> float:
    """f(N) of the Asimov band recipe (module docstring)."""
    z = np.sqrt(settings.threshold)
    if settings.method == "cls":
        alpha = 1.0 - settings.cl
        return float(ndtri(1.0 - alpha * ndtr(n_sigma)) + n_sigma)
    if settings.reference == "best_fit" and n_sigma >= 0:
        return float(n_sigma + z)
    return float(n_sigma + np.sqrt(n_sigma**2 + z**2))


def _one_bin_exact(data: Dataset, settings: LimitSettings) -> bool:
    return data.n_bins == 1 and (not settings.profile or not data.nuisances)


def coupling_limits(data: Dataset, settings: LimitSettings, expected: bool = True) -> dict[str, np.ndarray]:
    """Upper limit on |G| at every mass of ``data``, with the expected median and bands.

    Returns arrays over masses: ``m_med_MeV``, ``coupling_limit``, ``fit_ok`` and the :data:`BANDS` columns.
    A mass where a fit failed or no crossing was found has ``fit_ok = False``.
    """
    if not data.signals:
        raise ValueError(f"data set {data.name!r} has no new-physics signal")
    if not settings.profile:
        data = data.without_nuisances()
    out: dict[str, np.ndarray] = {"m_med_MeV": data.masses_MeV.copy()}
    n_mass = data.masses_MeV.size
    exact = _one_bin_exact(data, settings) and (settings.method != "cls" or settings.cls_mode == "auto")
    if settings.method == "feldman_cousins" and not exact:  # binned or profiled: asymptotic construction
        from nufog.feldman_cousins import asymptotic_limits

        return asymptotic_limits(data, settings, expected)
    if settings.method == "cls" and settings.cls_mode == "toys":
        from nufog.toys import toy_cls_limits

        return toy_cls_limits(data, settings, expected)
    if exact:
        b = float(data.expected_sm()[0])
        upper = _exact_upper(settings)
        if settings.method == "wilks":  # the closed form of the paper's Eqs. 20-22 (destructive terms included)
            stat = _Statistic(data, settings.reference)
            g_obs, found = _solve_increasing(lambda g, midx: stat(g, midx) - settings.threshold, data)
            out["coupling_limit"] = np.where(found, g_obs, np.nan)
            out["fit_ok"] = found & stat.ok
        else:
            out["coupling_limit"] = _coupling_for_events(data, np.full(n_mass, upper(float(data.observed[0]), b)))
            out["fit_ok"] = np.ones(n_mass, dtype=bool)
            if settings.method == "feldman_cousins":  # the interval's lower end (0 unless G = 0 is excluded)
                s_lo = feldman_cousins_interval(float(data.observed[0]), b, settings.cl)[0]
                events = np.full(n_mass, s_lo)
                out["coupling_lower"] = _coupling_for_events(data, events) if s_lo > 0 else np.zeros(n_mass)
        if expected:  # band edges: the limits for the Poisson quantiles of n under the background-only fit
            for col, n_sigma in BANDS.items():
                n_q = float(poisson_ppf(ndtr(n_sigma), b))
                out[col] = _coupling_for_events(data, np.full(n_mass, upper(n_q, b)))
        return out

    def criterion(d: Dataset) -> tuple[Callable, _Statistic, _Statistic | None]:
        """h(G) (increasing, zero at the limit) of the method on data set ``d``, and its statistics."""
        # CL_s uses the one-sided statistic with the best-fit reference (Cowan et al.'s q~): its asymptotic
        # distribution is what p_{s+b} = 1 - Phi(sqrt q) assumes; ``reference`` applies to wilks
        stat = _Statistic(d, "best_fit" if settings.method == "cls" else settings.reference)
        needs_asimov = settings.method == "cls" or expected
        asimov = _Statistic(d.with_observed(d.expected_sm()), "background_only") if needs_asimov else None
        if settings.method == "wilks":
            return (lambda g, midx: stat(g, midx) - settings.threshold), stat, asimov
        log_alpha = np.log(1.0 - settings.cl)

        def cls(g, midx):
            sq = np.sqrt(np.maximum(stat(g, midx), 0.0))
            sq_a = np.sqrt(np.maximum(asimov(g, midx), 0.0))
            # a failed fit (q = inf in both) gives NaN: the root finders treat it as "no root here"
            with np.errstate(invalid="ignore"):
                return log_alpha - (log_ndtr(-sq) - log_ndtr(sq_a - sq))

        return cls, stat, asimov

    g_obs, found, stat, asimov = _observed_limit(criterion, data)
    out["coupling_limit"] = np.where(found, g_obs, np.nan)
    ok = found & stat.ok & (asimov.ok if settings.method == "cls" else True)
    if expected:
        bands, ok_bands = asimov_bands(data, asimov, lambda n_sigma: _band_factor(settings, n_sigma))
        out.update(bands)
        ok &= ok_bands
    out["fit_ok"] = ok
    return out


def _observed_limit(
    criterion: Callable[[Dataset], tuple[Callable, _Statistic, _Statistic | None]], data: Dataset
) -> tuple[np.ndarray, np.ndarray, _Statistic, _Statistic | None]:
    """Root of a method's criterion on ``data`` at every mass: ``criterion(d)`` gives (h, stat, asimov) on a
    data set d; the bracket comes from h on ``data`` with the nuisances fixed (cheap), the root itself is
    profiled. Returns (G, found, stat, asimov)."""
    crit, stat, asimov = criterion(data)
    coarse = criterion(data.without_nuisances())[0] if data.nuisances else None
    g, found = _solve_profiled(crit, data, coarse) if coarse else _solve_increasing(crit, data)
    return g, found, stat, asimov


def asimov_bands(
    data: Dataset, asimov: _Statistic, factor: Callable[[float], float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Expected-limit columns (:data:`BANDS`) by the Asimov recipe: the band edge N at every mass is the G
    where sqrt(q_A(G)) = ``factor(N)`` (the method's f(N)), with ``asimov`` the statistic on the Asimov data
    set. Brackets come from the Asimov statistic with the nuisances fixed (cheap), like the observed
    limit's; each edge is then solved with the profiled statistic. Returns (columns, ok per mass)."""
    fixed = data.without_nuisances()
    asimov_fixed = None
    if data.nuisances:
        asimov_fixed = _Statistic(fixed.with_observed(fixed.expected_sm()), "background_only")
    out, ok = {}, np.ones(data.masses_MeV.size, dtype=bool)
    for col, n_sigma in BANDS.items():
        target = factor(n_sigma)

        def band(g, midx, target=target, stat=asimov):
            return np.sqrt(np.maximum(stat(g, midx), 0.0)) - target

        if asimov_fixed is None:
            g_band, found_band = _solve_increasing(band, data, tol=_BAND_TOL)
        else:
            g_band, found_band = _solve_profiled(band, data, partial(band, stat=asimov_fixed), tol=_BAND_TOL)
        out[col] = np.where(found_band, g_band, np.nan)
        ok &= found_band & asimov.ok
    return out, ok


# --- one-bin exact methods ---------------------------------------------------------------------------------
def _exact_upper(settings: LimitSettings) -> Callable[[float, float], float]:
    """Upper limit on the signal count of a one-bin data set, s_up(n, b), for the configured method."""
    if settings.method == "feldman_cousins":
        return lambda n, b: feldman_cousins_interval(n, b, settings.cl)[1]
    if settings.method == "cls":
        return lambda n, b: exact_cls_upper(n, b, settings.cl)
    from nufog.stats import signal_upper_limit

    return lambda n, b: float(signal_upper_limit(n, b, settings.cl, settings.reference))


def exact_cls_upper(n_obs: float, background: float, cl: float = 0.9) -> float:
    """Exact one-bin CL_s upper limit on the signal count: P(N <= n | s + b) / P(N <= n | b) = 1 - cl.

    Non-integer n (an Asimov projection) uses the continuous extension Q(n + 1, mu) of the Poisson CDF.

    >>> round(exact_cls_upper(0, 0.0), 4)   # -ln(0.1): the classic 2.30 events
    2.3026
    """
    if not (n_obs >= 0 and background >= 0 and 0 < cl < 1):
        raise ValueError(f"need n >= 0, b >= 0 and 0 < cl < 1, got n={n_obs!r}, b={background!r}, cl={cl!r}")
    from scipy.optimize import brentq

    alpha = 1.0 - cl
    log_den = np.log(gammaincc(n_obs + 1.0, background)) if background > 0 else 0.0

    def f(s: float) -> float:
        return np.log(gammaincc(n_obs + 1.0, background + s)) - log_den - np.log(alpha)

    hi = max(1.0, 3.0 * np.sqrt(n_obs + background + 1.0))
    while f(hi) > 0:
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-10, rtol=1e-12)) if f(0.0) > 0 else 0.0


# --- helpers for users and tables ------------------------------------------------------------------------
def signal_dataset(n_obs: float, background: float, sigma_b: float = 0.0, name: str = "counting") -> Dataset:
    """One-bin data set whose coupling is the signal count itself (N_BSM = G): the calculator's model.

    ``sigma_b`` (events) becomes a normal background-normalisation nuisance.
    """
    from nufog.likelihood import Modifier, Sample, Signal

    if not background > 0:
        raise ValueError(f"background must be positive, got {background!r}")
    mods = (Modifier("background_norm", "normal", sigma_b / background),) if sigma_b > 0 else ()
    return Dataset(
        name,
        np.array([float(n_obs)]),
        (Sample("background", np.array([float(background)]), mods),),
        (Signal("signal", np.array([[[1.0]], [[0.0]]])),),
        np.array([1.0]),
    )


def discovery_significance(data: Dataset, samples: Sequence[str], asimov: bool = False) -> float:
    """Significance Z = sqrt(q0) of the samples ``samples`` (e.g. the SM CEvNS of every flux group): their
    common strength mu >= 0 free against mu = 0, every nuisance profiled; on the Asimov data set (the
    nominal expectation) if ``asimov``."""
    from dataclasses import replace

    from nufog.likelihood import Signal

    names = [s.name for s in data.samples]
    missing = [n for n in samples if n not in names]
    if missing or not samples:
        raise ValueError(f"data set {data.name!r} has no samples {missing or samples}; samples: {names}")

    def as_terms(values: np.ndarray) -> np.ndarray:
        return np.stack([values[None, :], np.zeros((1, values.size))])

    probes = []
    for s in data.samples:
        if s.name in samples:
            mods = tuple(
                replace(m, down=as_terms(m.down), up=as_terms(m.up)) if m.kind == "shape" else m for m in s.modifiers
            )
            probes.append(Signal(s.name, as_terms(s.nominal), mods))
    others = tuple(s for s in data.samples if s.name not in samples)
    if not others:
        raise ValueError(f"data set {data.name!r}: no background besides {list(samples)}")
    probe = replace(data, samples=others, signals=tuple(probes), masses_MeV=np.array([1.0]))
    if asimov:
        probe = probe.with_observed(data.expected_sm())
    model = Model(probe)
    null = model.profile(np.zeros(1), np.zeros(1, dtype=int))
    best = model.profile(np.ones(1), np.zeros(1, dtype=int), free_g=True)
    if not (null.ok[0] and best.ok[0]):
        raise RuntimeError(f"data set {data.name!r}: the discovery fit of {list(samples)} did not converge")
    return float(np.sqrt(max(null.nll2[0] - best.nll2[0], 0.0)))
