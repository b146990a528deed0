"""COHERENT CsI 2021 fits on the shared likelihood core (issue 9): the SM fit with its profile-likelihood
interval and the profiled fits at NSI points (physics.md section 5); the NSI map, its valley and the 1-d
NSI profiles are built on :func:`nsi_fit` in :mod:`nufog.coherent_nsi`.

Every fit is a :meth:`nufog.likelihood.Model.profile` of a :class:`nufog.likelihood.Dataset` built from
the COHERENT parts of :func:`nufog.coherent_dataset.csi_parts` (backgrounds, the SM CEvNS templates and
their efficiency and time-offset shape variations):

- SM fit: the CEvNS expectation is a signal whose coupling G is the signal strength s = 1 + alpha_nu,
  free (``free_g``); the neutrino-yield nuisance is dropped (it would duplicate s). The 1 sigma
  interval is the pair of roots of Delta chi^2(s) = 1, the other nuisances profiled at each s
  (safeguarded Newton steps with the envelope derivative d chi^2_prof / ds = d chi^2 / ds).
- NSI: the CEvNS of the NSI flavours (default nu_e) at a point is sum_i Q_i(eps)^2 R_i over the isotopes
  i (133Cs, 127I), with R_i the unit-charge templates and Q_i = :func:`nsi_charge`. A set of points is
  one data set whose "mass index" is the point and whose G is fixed to 1: the signal terms are
  (sum_i Q_i^2 R_i, 0) per point; the other flavours keep the SM charge (a sample). Grid points are
  profiled in ten batches of rows (vectorised, warm-started from seed fits at the same NSI strength,
  :mod:`nufog.coherent_nsi`), with a progress line per batch.
- The SM interval's root finder starts each profiled fit from the nuisances predicted along the
  profile path (d theta / ds from the Fisher information).

A point whose fit did not converge, or that ends with a nuisance on a bound, is retried from the
template centre and from a perturbed start; if it still fails it is flagged (``fit_ok = False``) and
logged, never used silently.

Against the exact CsIModel fits (before issue 9's move, README) the efficiency and time offset are
template interpolations (quadratic inside one template step, linear outside, additive): the numbers
agree to a few 1e-3 (``tests/unit/test_coherent_fits.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nufog.coherent_dataset import OFFSET_DELTA_US, CsIParts, csi_dataset, csi_nuisances, csi_parts
from nufog.coherent_model import NUISANCES, CsIModel
from nufog.coherent_templates import nsi_charge
from nufog.likelihood import Dataset, FitResult, Model, Modifier, Sample, Signal
from nufog.sns import FLAVOURS

__all__ = ["CsICore", "NSIFit", "FAR_DELTA_CHI2", "profile_points", "sm_fit", "sm_pulls_fit", "nsi_fit", "nsi_chi2"]

log = logging.getLogger(__name__)

#: a point is refitted with re-centred time templates while |theta_t| exceeds this (in template steps):
#: the missing efficiency x offset cross term of the additive shapes is first order in theta_t
RECENTRE_TOL = 1e-3
#: iterations before a point far outside every contour that presses against a bound is given up
QUICK_ITER = 4
#: Delta chi^2 above the SM point beyond which such a point is given up (flagged, not fitted further)
FAR_DELTA_CHI2 = 25.0


def _energy(model: CsIModel, spectra: np.ndarray, alpha: float) -> np.ndarray:
    """Spectra (..., 2, n_fine) through the energy efficiency at alpha_eff into the PE bins (..., 2, n_pe)."""
    eff = model.efficiency.bin_average(model.fine_edges, alpha)[0]
    return (np.asarray(spectra) * eff) @ model.aggregate


@dataclass(frozen=True, eq=False)
class CsICore:
    """The COHERENT data sets of the core for the SM fit and the NSI scan (build with :meth:`build`).

    ``sm``: backgrounds and SM CEvNS with the six nuisances (the background-only data set of the core);
    ``strength``: the SM CEvNS as a signal of free strength G (no yield nuisance); ``energy_nsi``
    ({alpha_eff: (n_isotope, 2 groups, n_pe)}): unit-charge PE spectra of the NSI flavours at the
    efficiency templates; ``energy_other`` ({alpha_eff: (2, n_pe)}): the other flavours at SM charge.
    """

    model: CsIModel
    parts: CsIParts
    flavours: tuple[str, ...]
    sm: Dataset
    strength: Dataset
    backgrounds: tuple[Sample, ...]
    energy_nsi: dict[float, np.ndarray]
    energy_other: dict[float, np.ndarray]
    yield_modifier: Modifier
    interpolation: str

    @classmethod
    def build(
        cls,
        model: CsIModel,
        flavours: Sequence[str] = ("nu_e",),
        parts: CsIParts | None = None,
        offset_delta_us: float = OFFSET_DELTA_US,
    ) -> CsICore:
        """Core data sets of ``model``; NSI charges for ``flavours``. ``parts`` default:
        :func:`~nufog.coherent_dataset.csi_parts` (time templates centred on the exact SM fit's offset)."""
        bad = set(flavours) - set(FLAVOURS)
        if bad or not flavours:
            raise ValueError(f"unknown or no flavours {sorted(bad)}; choose from {FLAVOURS}")
        parts = csi_parts(model, offset_delta_us=offset_delta_us) if parts is None else parts
        sm_samples = [s for s in parts.samples if s.name.startswith("sm_")]
        backgrounds = tuple(s for s in parts.samples if not s.name.startswith("sm_"))
        mods = sm_samples[0].modifiers
        yield_mod = next(m for m in mods if m.nuisance == "sns_yield")
        interp = next(m.interpolation for m in mods if m.kind == "shape")
        shapes = [m.nuisance for m in mods if m.kind == "shape"]

        def summed(pick) -> np.ndarray:
            return sum(pick(s) for s in sm_samples)

        def shape(nuisance: str, side: str, wrap) -> np.ndarray:
            return wrap(summed(lambda s: getattr(next(m for m in s.modifiers if m.nuisance == nuisance), side)))

        def as_terms(values: np.ndarray) -> np.ndarray:
            return np.stack([values, np.zeros_like(values)])[:, None, :]

        strength_signal = Signal(
            "sm_cevns",
            as_terms(summed(lambda s: s.nominal)),
            tuple(
                Modifier(n, "shape", down=shape(n, "down", as_terms), up=shape(n, "up", as_terms), interpolation=interp)
                for n in shapes
            ),
        )
        strength = Dataset(
            "coherent_csi_strength", parts.observed, backgrounds, (strength_signal,), np.zeros(1), parts.free
        )
        if model.shift_backgrounds:
            raise ValueError("the NSI fits re-centre the CEvNS time templates per point: shift_backgrounds=False only")
        n_iso = len(model.target.isotopes)
        unit = {f: np.eye(n_iso) if f in flavours else np.zeros((n_iso, n_iso)) for f in FLAVOURS}
        sm_q = {f: np.zeros(n_iso) if f in flavours else model.sm_charges for f in FLAVOURS}
        alphas = (-1.0, 0.0, 1.0)  # the efficiency templates (shape_points)
        return cls(
            model=model,
            parts=parts,
            flavours=tuple(flavours),
            sm=csi_dataset(parts),
            strength=strength,
            backgrounds=backgrounds,
            energy_nsi={a: _energy(model, model.spectra_from_charges(unit), a) for a in alphas},
            energy_other={a: _energy(model, model.spectra_from_charges(sm_q), a) for a in alphas},
            yield_modifier=yield_mod,
            interpolation=interp,
        )

    def charges_squared(self, eps_u: np.ndarray, eps_d: np.ndarray) -> np.ndarray:
        """Q_i(eps)^2 per point and isotope, (P, n_isotope)."""
        eu, ed = np.broadcast_arrays(np.atleast_1d(np.asarray(eps_u, float)), np.atleast_1d(np.asarray(eps_d, float)))
        return np.stack([nsi_charge(i.Z, i.N, eu, ed) ** 2 for i in self.model.target.isotopes], axis=-1)

    def nsi_dataset(self, eps_u: np.ndarray, eps_d: np.ndarray, centres_us: np.ndarray | None = None) -> Dataset:
        """One data set for the points (eps_u, eps_d) (1-d, broadcast): mass index = point, G = 1.

        The CEvNS of every flavour is the point's signal; its time templates sit at the point's own
        centre t_c (``centres_us``, default the SM fit's offset) and t_c -+ delta, the efficiency
        templates at t_c: theta_t = (t_offset - t_c) / delta."""
        q2 = self.charges_squared(eps_u, eps_d)
        p = q2.shape[0]
        delta = self.parts.offset_delta_us
        t_c = self.centres(p, centres_us)
        times = {k: self.model.time_rows(t_c + k * delta)[0][:, :2] for k in (-1, 0, 1)}  # (P, 2 groups, n_t)

        def terms(alpha: float, k: int) -> np.ndarray:
            e = np.einsum("pi,igk->pgk", q2, self.energy_nsi[alpha]) + self.energy_other[alpha]
            lin = np.einsum("pgi,pgj->pij", e, times[k]).reshape(p, -1)
            return np.stack([lin, np.zeros_like(lin)])

        variations = {"coherent_eff": ((-1.0, 0), (1.0, 0)), "coherent_t_offset": ((0.0, -1), (0.0, 1))}
        mods = tuple(
            Modifier(n, "shape", down=terms(*dn), up=terms(*up), interpolation=self.interpolation)
            for n, (dn, up) in variations.items()
        )
        signal = Signal("cevns_nsi", terms(0.0, 0), (self.yield_modifier, *mods))
        return Dataset(
            "coherent_csi_nsi", self.parts.observed, self.backgrounds, (signal,), np.zeros(p), self.parts.free
        )

    def centres(self, n: int, centres_us: np.ndarray | None = None) -> np.ndarray:
        """Time-template centres of n points, inside the model's tabulated offsets (default t_c of the parts)."""
        lo, hi = self.model.offset_bounds_us
        delta = self.parts.offset_delta_us
        t_c = np.full(n, self.parts.offset_centre_us) if centres_us is None else np.asarray(centres_us, float)
        return np.clip(np.broadcast_to(t_c, (n,)), lo + delta, hi - delta)

    def nuisances(self, theta: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """CsIModel nuisances (..., 6) (:data:`~nufog.coherent_model.NUISANCES`) of the core's theta."""
        return csi_nuisances(theta, self.parts, names)


def profile_points(
    model: Model,
    g: np.ndarray,
    mass_index: np.ndarray,
    theta0: np.ndarray | None = None,
    free_g: bool = False,
    what: str = "COHERENT fit",
    max_iter: int = 200,
) -> FitResult:
    """:meth:`Model.profile` at every point. A point that did not converge is retried from the nominal
    nuisances and then from a perturbed start (the better minimum is kept). A point that converged with a
    nuisance on its bound (a pull beyond 5 sigma: the core's bounds) is flagged without a restart, which
    cannot move it off the bound; every flagged point is logged."""
    g = np.atleast_1d(np.asarray(g, dtype=float))
    midx = np.broadcast_to(np.asarray(mass_index, dtype=int), g.shape)
    r = model.profile(g, midx, theta0=theta0, free_g=free_g, max_iter=max_iter)
    theta, g_out, nll, ok, n_iter = r.theta.copy(), r.g.copy(), r.nll2.copy(), r.ok.copy(), r.n_iter
    rng = np.random.default_rng(0)
    for attempt in range(2):
        on_bound = model.on_bound(theta)
        bad = np.flatnonzero(~ok & ~on_bound)
        if bad.size == 0:
            break
        start = np.zeros(model.n_nuisances) if attempt == 0 else theta[bad] + 0.3 * rng.standard_normal((bad.size, 1))
        rr = model.profile(g[bad], midx[bad], theta0=start, free_g=free_g, max_iter=max_iter)
        n_iter += rr.n_iter
        take = rr.ok | (rr.nll2 < nll[bad] - 1e-9)
        idx = bad[take]
        theta[idx], g_out[idx], nll[idx], ok[idx] = rr.theta[take], rr.g[take], rr.nll2[take], rr.ok[take]
    if not ok.all():
        log.info("%s: %d of %d fits flagged fit_ok = False (after retries)", what, (~ok).sum(), ok.size)
    return FitResult(theta, g_out, nll, ok, n_iter)


def _deviance(model: Model, fit: FitResult) -> np.ndarray:
    """-2 ln L without the pull terms."""
    return fit.nll2 - (fit.theta[:, model.constrained] ** 2).sum(axis=1)


def _roots(f_and_df, lo, hi, start, rising, theta, tol=1e-9, max_iter=50):
    """Batched safeguarded Newton for roots of f in brackets [lo, hi]; ``rising``: f < 0 below the root.
    ``f_and_df(t, theta)`` -> (f, df/dt, fit, d theta / dt along the profile): the next fit starts from
    theta predicted linearly at the next t. Returns t, the fit at t and whether every root converged."""
    t, lo, hi = (np.array(v, dtype=float) for v in (start, lo, hi))
    converged = False
    for _ in range(max_iter):
        f, df, fit, slope = f_and_df(t, theta)
        below = (f < 0) == np.asarray(rising)
        lo, hi = np.where(below, t, lo), np.where(below, hi, t)
        step = -f / df
        conv = np.abs(step) <= tol * np.maximum(1.0, np.abs(t))
        if conv.all():
            converged = True
            break
        t_new = t + step
        outside = ~np.isfinite(t_new) | (t_new <= lo) | (t_new >= hi)
        t_next = np.where(conv, t, np.where(outside, 0.5 * (lo + hi), t_new))
        theta = fit.theta + slope * (t_next - t)[:, None]
        t = t_next
    return t, fit, converged and bool(fit.ok.all())


def _path_slope(hess: np.ndarray) -> np.ndarray:
    """d theta / d G along the profile (implicit function theorem): -H_tt^-1 H_tG, (P, K)."""
    return -np.linalg.solve(hess[:, :-1, :-1], hess[:, :-1, -1:])[..., 0]


def sm_fit(core: CsICore) -> dict[str, float | dict | bool | str]:
    """SM fit: the CEvNS strength free, the other five nuisances profiled, and its profile interval.

    The fitted count is s times the CEvNS template summed over the ROI at the fitted nuisances (likewise
    at the 1 sigma interval ends). Returns ``n_fit``, ``n_fit_err_low``, ``n_fit_err_high``,
    ``n_fit_err`` (mean of the two), ``n_sm``, ``signal_strength``, ``nuisances`` (CsIModel names),
    ``chi2`` (deviance at the best fit), ``ndf`` (bins - 6), ``chi2_ndf``, ``n_observed``,
    ``n_background``, ``fit_ok`` and ``fit_message`` (the fit with every pull: :func:`sm_pulls_fit`).
    """
    m = Model(core.strength)
    best = profile_points(m, np.ones(1), np.zeros(1, int), free_g=True, what="COHERENT SM fit")
    g_hat, th = float(best.g[0]), best.theta
    hess = m.free_g_information(th, g_hat, 0)[2]
    width = float(np.sqrt(2.0 * np.linalg.inv(hess[0])[-1, -1]))

    def f_and_df(gs, theta):
        r = profile_points(m, gs, np.zeros(gs.size, int), theta0=theta, what="COHERENT SM interval")
        _, grad, info = m.free_g_information(r.theta, gs, 0)  # d(-2 ln L)/dG: the envelope theorem
        return r.nll2 - best.nll2[0] - 1.0, grad[:, -1], r, _path_slope(info)

    ends, end_fits, ends_ok = _roots(
        f_and_df,
        lo=[g_hat - 10 * width, g_hat],
        hi=[g_hat, g_hat + 10 * width],
        start=[g_hat - width, g_hat + width],
        rising=[False, True],
        theta=th + _path_slope(hess) * np.array([[-width], [width]]),
    )

    def counts(theta: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = m.evaluate(theta, g, 0, jacobian=False)[0].sum(axis=1)
        background = m.evaluate(theta, 0.0, 0, jacobian=False)[0].sum(axis=1)
        return total - background, background

    (n_fit,), (n_bkg,) = counts(th, best.g)
    low, high = counts(end_fits.theta, ends)[0]
    x = core.nuisances(th[0], m.names)
    x[0] = g_hat - 1.0
    chi2 = float(_deviance(m, best)[0])
    n_bins = core.parts.observed.size
    ok = bool(best.ok[0] and ends_ok)
    return {
        "n_fit": float(n_fit),
        "n_fit_err_low": float(n_fit - low),
        "n_fit_err_high": float(high - n_fit),
        "n_fit_err": float(0.5 * (high - low)),
        "n_sm": core.model.sm_prediction()["total"],
        "signal_strength": g_hat,
        "nuisances": dict(zip(NUISANCES, map(float, x))),
        "chi2": chi2,
        "ndf": n_bins - 6,
        "chi2_ndf": chi2 / (n_bins - 6),
        "n_observed": float(core.parts.observed.sum()),
        "n_background": float(n_bkg),
        "fit_ok": ok,
        "fit_message": "converged" if ok else f"best fit ok: {bool(best.ok[0])}, interval ends ok: {ends_ok}",
    }


def sm_pulls_fit(core: CsICore) -> dict[str, float | dict | bool]:
    """The SM fit with every pull (the strength fixed at 1, the yield nuisance constrained): ``nuisances_sm_fit``
    (CsIModel names), ``chi2_sm_fit`` (-2 ln L with the pulls) and ``fit_ok_sm_fit``."""
    m = Model(core.sm)
    sm = profile_points(m, np.zeros(1), np.zeros(1, int), what="COHERENT SM fit with pulls")
    return {
        "nuisances_sm_fit": dict(zip(NUISANCES, map(float, core.nuisances(sm.theta[0], m.names)))),
        "chi2_sm_fit": float(sm.nll2[0]),
        "fit_ok_sm_fit": bool(sm.ok[0]),
    }


@dataclass(frozen=True)
class NSIFit:
    """Profiled fits at P NSI points: ``chi2`` (-2 ln L with every pull), ``ok``, ``theta`` (P, K) in the
    order ``names`` relative to the points' time-template ``centres_us`` (P,)."""

    chi2: np.ndarray
    ok: np.ndarray
    theta: np.ndarray
    names: tuple[str, ...]
    centres_us: np.ndarray
    delta_us: float

    @property
    def t_offset_us(self) -> np.ndarray:
        """Fitted beam-onset offset per point [us]."""
        return self.centres_us + self.delta_us * self.theta[:, self.names.index("coherent_t_offset")]

    def warm_start(self) -> np.ndarray:
        """theta for a fit with the templates centred on the fitted offsets (:attr:`t_offset_us`)."""
        th = self.theta.copy()
        th[:, self.names.index("coherent_t_offset")] = 0.0
        return th


def nsi_fit(
    core: CsICore,
    eps_u: np.ndarray | float,
    eps_d: np.ndarray | float,
    theta0: np.ndarray | None = None,
    centres_us: np.ndarray | None = None,
    max_iter: int = 200,
    recentre: int = 5,
    give_up_above: float | None = None,
) -> NSIFit:
    """Profiled fits (every pull) at the NSI points (eps_u, eps_d) (broadcast).

    A converged point whose time offset ended more than 1e-3 template steps from its template centre is
    refitted with the templates centred on the fitted offset (at most ``recentre`` times): the shape
    interpolation is then used only near its centre.

    ``give_up_above``: a point that after :data:`QUICK_ITER` iterations presses a nuisance against the
    core's bound (a pull beyond 5 sigma) with chi^2 above this value is not fitted further (no retries):
    it is flagged ``ok = False`` and keeps that chi^2 (a point far outside every contour; its fit cannot
    be physical). The NSI scan uses the SM point's chi^2 + :data:`FAR_DELTA_CHI2`."""
    eu, ed = np.broadcast_arrays(np.atleast_1d(np.asarray(eps_u, float)), np.atleast_1d(np.asarray(eps_d, float)))
    p = eu.size
    delta = core.parts.offset_delta_us
    t_c = core.centres(p, centres_us).copy()
    model = Model(core.nsi_dataset(eu, ed, t_c))
    k_t = model.names.index("coherent_t_offset")
    rest = np.arange(p)
    theta = (
        np.zeros((p, model.n_nuisances))
        if theta0 is None
        else np.array(np.broadcast_to(theta0, (p, model.n_nuisances)))
    )
    chi, ok = np.full(p, np.inf), np.zeros(p, bool)
    if give_up_above is not None:
        quick = model.profile(np.ones(p), rest, theta0=theta, max_iter=QUICK_ITER)
        far = ~quick.ok & model.on_bound(quick.theta) & (quick.nll2 > give_up_above)
        theta, chi = quick.theta.copy(), quick.nll2.copy()
        rest = np.flatnonzero(~far)
    r = profile_points(model, np.ones(rest.size), rest, theta0=theta[rest], max_iter=max_iter, what="COHERENT NSI")
    theta[rest], chi[rest], ok[rest] = r.theta, r.nll2, r.ok
    for _ in range(recentre):
        redo = np.flatnonzero(ok & (np.abs(theta[:, k_t]) > RECENTRE_TOL))
        if redo.size == 0:
            break
        t_new = core.centres(redo.size, t_c[redo] + delta * theta[redo, k_t])
        start = theta[redo].copy()
        start[:, k_t] = (t_c[redo] + delta * theta[redo, k_t] - t_new) / delta
        model = Model(core.nsi_dataset(eu[redo], ed[redo], t_new))
        rr = profile_points(model, np.ones(redo.size), np.arange(redo.size), theta0=start, max_iter=max_iter)
        t_c[redo], theta[redo], chi[redo], ok[redo] = t_new, rr.theta, rr.nll2, rr.ok
    return NSIFit(chi, ok, theta, model.names, t_c, delta)


def nsi_chi2(
    core: CsICore, eps_u: np.ndarray, eps_d: np.ndarray, theta: np.ndarray, centres_us: np.ndarray
) -> np.ndarray:
    """-2 ln L (every pull) at the NSI points (eps_u, eps_d) with the nuisances ``theta`` (P, K) (order
    of :func:`nsi_fit`'s ``names``, time templates centred on ``centres_us``), without a fit: an upper
    bound on the profiled chi^2 there."""
    eu, ed = np.broadcast_arrays(np.atleast_1d(np.asarray(eps_u, float)), np.atleast_1d(np.asarray(eps_d, float)))
    model = Model(core.nsi_dataset(eu, ed, core.centres(eu.size, centres_us)))
    theta = np.clip(np.broadcast_to(theta, (eu.size, model.n_nuisances)), model.lower, model.upper)
    mu = model.evaluate(theta, 1.0, np.arange(eu.size), jacobian=False)[0]
    return model.nll2(mu, theta)
