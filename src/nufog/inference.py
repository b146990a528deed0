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
from nufog.roots import LOG_TOL, global_minimum_roots, scan_criterion, solve_increasing, solve_profiled
from nufog.statistic import Statistic, coupling_for_events
from nufog.stats import brentq, delta_chi2_threshold, poisson_ppf

__all__ = [
    "METHODS",
    "REFERENCES",
    "BANDS",
    "LimitSettings",
    "coupling_limits",
    "signal_dataset",
    "feldman_cousins_interval",
    "whole_count",
    "exact_cls_upper",
    "discovery_significance",
]

METHODS = ("wilks", "cls", "feldman_cousins")
REFERENCES = ("background_only", "best_fit")
CLS_MODES = ("auto", "asymptotic", "toys")
#: expected-limit columns and their band N (in sigma)
BANDS = {"expected_minus2": -2, "expected_minus1": -1, "expected_median": 0, "expected_plus1": 1, "expected_plus2": 2}
_BAND_TOL = 1e-5  # a band edge's last secant step in log G (the edges are then accurate to ~1e-8)


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
            stat = Statistic(data, settings.reference)
            g_obs, found = solve_increasing(lambda g, midx: stat(g, midx) - settings.threshold, data)
            out["coupling_limit"] = np.where(found, g_obs, np.nan)
            out["fit_ok"] = found & stat.ok
        else:
            out["coupling_limit"] = coupling_for_events(data, np.full(n_mass, upper(float(data.observed[0]), b)))
            out["fit_ok"] = np.ones(n_mass, dtype=bool)
            if settings.method == "feldman_cousins":  # the interval's lower end (0 unless G = 0 is excluded)
                s_lo = feldman_cousins_interval(whole_count(data.observed[0]), b, settings.cl)[0]
                events = np.full(n_mass, s_lo)
                out["coupling_lower"] = coupling_for_events(data, events) if s_lo > 0 else np.zeros(n_mass)
        if expected:  # band edges: the limits for the Poisson quantiles of n under the background-only fit
            for col, n_sigma in BANDS.items():
                n_q = float(poisson_ppf(ndtr(n_sigma), b))
                out[col] = coupling_for_events(data, np.full(n_mass, upper(n_q, b)))
        return out

    def criterion(d: Dataset) -> tuple[Callable, Statistic, Statistic | None]:
        """h(G) (increasing, zero at the limit) of the method on data set ``d``, and its statistics."""
        # CL_s uses the one-sided statistic with the best-fit reference (Cowan et al.'s q~): its asymptotic
        # distribution is what p_{s+b} = 1 - Phi(sqrt q) assumes; ``reference`` applies to wilks
        stat = Statistic(d, "best_fit" if settings.method == "cls" else settings.reference)
        needs_asimov = settings.method == "cls" or expected
        asimov = Statistic(d.with_observed(d.expected_sm()), "background_only") if needs_asimov else None
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
    criterion: Callable[[Dataset], tuple[Callable, Statistic, Statistic | None]], data: Dataset
) -> tuple[np.ndarray, np.ndarray, Statistic, Statistic | None]:
    """Root of a method's criterion on ``data`` at every mass: ``criterion(d)`` gives (h, stat, asimov) on a
    data set d; the bracket comes from h on ``data`` with the nuisances fixed (cheap), the root itself is
    profiled, at the nuisances' global minimum (:func:`global_minimum_roots`). Returns (G, found, stat,
    asimov)."""
    crit, stat, asimov = criterion(data)
    if not data.nuisances:
        return *solve_increasing(crit, data), stat, asimov
    coarse = criterion(data.without_nuisances())[0]
    info: dict = {}
    g, found = solve_profiled(crit, data, coarse, slope_out=info)
    global_minimum_roots(crit, data, coarse, stat, g, found, info["slope"], LOG_TOL)
    return g, found, stat, asimov


def asimov_bands(
    data: Dataset, asimov: Statistic, factor: Callable[[float], float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Expected-limit columns (:data:`BANDS`) by the Asimov recipe: the band edge N at every mass is the G
    where sqrt(q_A(G)) = ``factor(N)`` (the method's f(N)), with ``asimov`` the statistic on the Asimov data
    set. Returns (columns, ok per mass).

    The edges lie on one increasing curve r(G) = sqrt(q_A(G)). One bracket scan of r with the nuisances
    fixed (cheap) serves all five. The -2 sigma edge is solved first with the profiled r, from its
    fixed-nuisance root; then upwards, each edge from the one below along the local power law of the
    profiled r (log r linear in log G, its slope from the last secant step below): three to five
    profiled fits per edge and mass instead of six to eight. Each edge is then moved to the nuisances'
    global minimum where the likelihood has several (:func:`nufog.roots.global_minimum_roots`).
    """
    midx = np.arange(data.masses_MeV.size)
    fixed = data.without_nuisances()
    stat_fixed = asimov
    if data.nuisances:
        stat_fixed = Statistic(fixed.with_observed(fixed.expected_sm()), "background_only")

    def root_q(g, midx, stat):
        return np.sqrt(np.maximum(stat(g, midx), 0.0))

    grid, values = scan_criterion(partial(root_q, stat=stat_fixed), fixed, midx)
    out, ok = {}, np.ones(midx.size, dtype=bool)
    order = sorted(BANDS.items(), key=lambda item: item[1])  # -2 ... +2: each fit starts on its neighbour's branch
    solved: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # N -> (log G, d log r / d log G) where found
    ok_edge: dict[str, np.ndarray] = {}
    edges: dict[str, tuple] = {}  # profiled edges: (criterion, coarse, G, found, slope, nuisances at G)
    for col, n_sigma in order:
        target = factor(n_sigma)

        def band(g, midx, target=target, stat=asimov):
            return root_q(g, midx, stat) - target

        scan = (grid, values - target)
        if not data.nuisances:
            g_band, found_band = solve_increasing(band, data, tol=_BAND_TOL, scan=scan)
        else:
            coarse = partial(band, stat=stat_fixed)
            start = solve_increasing(coarse, fixed, tol=1e-6, scan=scan)
            prev = n_sigma - 1  # the neighbour below
            slope = None
            if prev in solved and target > 0 and factor(prev) > 0:
                x_prev, k = solved[prev]
                usable = np.isfinite(x_prev) & np.isfinite(k) & (k > 0)
                x0 = x_prev + np.log(target / factor(prev)) / np.where(usable, k, 1.0)
                start = (np.where(usable, np.exp(x0), start[0]), start[1] | usable)
                slope = np.where(usable, k * target, np.nan)  # dr/dlog G = k r at the edge
            info: dict = {}
            g_band, found_band = solve_profiled(band, data, coarse, _BAND_TOL, start, slope, info)
            with np.errstate(divide="ignore", invalid="ignore"):
                k_new = info["slope"] / target
            solved[n_sigma] = (np.where(found_band, np.log(g_band), np.nan), k_new)
            edges[col] = (band, coarse, g_band, found_band, k_new * target, asimov.theta.copy())
        out[col] = np.where(found_band, g_band, np.nan)
        ok_edge[col] = found_band & asimov.ok
    for col, (band, coarse, g_band, found_band, slope, theta) in edges.items():
        asimov.theta[:] = theta
        rows = global_minimum_roots(band, data, coarse, asimov, g_band, found_band, slope, _BAND_TOL)
        ok_edge[col][rows] = found_band[rows] & asimov.ok[rows]
        out[col] = np.where(found_band, g_band, np.nan)
    for col in out:
        ok &= ok_edge[col]
    return out, ok


# --- one-bin exact methods ---------------------------------------------------------------------------------
def whole_count(n: float) -> int:
    """The whole count Feldman-Cousins ranks for an observed count n: a projection's Asimov count n = b is
    in general not whole, and is taken to the nearest whole count (halves up).

    >>> whole_count(19367.5), whole_count(2.0)
    (19368, 2)
    """
    return int(np.floor(float(n) + 0.5))


def _exact_upper(settings: LimitSettings) -> Callable[[float, float], float]:
    """Upper limit on the signal count of a one-bin data set, s_up(n, b), for the configured method."""
    if settings.method == "feldman_cousins":
        return lambda n, b: feldman_cousins_interval(whole_count(n), b, settings.cl)[1]
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
