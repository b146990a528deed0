"""One binned Poisson likelihood for every data set, with named nuisance parameters (physics.md section 8).

A :class:`Dataset` has analysis bins i with observed counts n_i and expected counts

    mu_i(G, theta) = sum_c f_c(theta) T_ci(theta) + sum_g f_g(theta) [ L_gi(m) G + Q_gi(m) G^2 ]

- :class:`Sample` c: a template T_c (events per bin) that does not depend on the coupling: a background,
  or the Standard-Model CEvNS expectation (which the 8B flux nuisance scales like the new physics).
- :class:`Signal` g: the terms linear (interference) and quadratic in the coupling product G at each
  mediator mass m, folded through the data set's response (one group per flux family, so that
  ``flux_8B`` scales only what 8B neutrinos induce).
- :class:`Modifier`: a named nuisance acting on a sample or signal. ``normal``: f = 1 + sigma theta;
  ``lognormal``: f = (1 + sigma)^theta; ``shape``: the template at theta = -1 and +1 (``down``, ``up``),
  interpolated per bin (``interpolation`` ``"linear"``: HistFactory code 0; ``"quadratic"``: quadratic
  inside |theta| <= 1 and linear outside, C1). Every nuisance has a unit Gaussian pull theta^2 in
  -2 ln L unless the data set lists it in ``free``. The same name in two data sets is one parameter
  (:func:`combine`).

    -2 ln L = 2 sum_i [mu_i - n_i + n_i ln(n_i / mu_i)] + sum_{k constrained} theta_k^2

:class:`Model` evaluates mu, -2 ln L and its derivatives for many points (mass index, G, theta) at
once, and :meth:`Model.profile` minimises over the nuisances (and optionally G >= 0) at every point with
vectorised Fisher-scoring (Newton) steps and a backtracking line search. A point whose fit did not
converge, or that ends with a nuisance on a bound, is reported with ``ok = False``: never used silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "Modifier",
    "Sample",
    "Signal",
    "Dataset",
    "combine",
    "Model",
    "FitResult",
    "MODIFIER_KINDS",
]

MODIFIER_KINDS = ("normal", "lognormal", "shape")
INTERPOLATIONS = ("linear", "quadratic")
#: |theta| bound of a constrained nuisance (a pull of 5 sigma is never a physical fit)
THETA_BOUND = 5.0
#: |theta| bound of an unconstrained (free) nuisance
FREE_BOUND = 1e3


@dataclass(frozen=True, eq=False)
class Modifier:
    """A named nuisance acting on one sample or signal (see the module docstring)."""

    nuisance: str
    kind: str
    sigma: float = 0.0
    down: np.ndarray | None = None
    up: np.ndarray | None = None
    interpolation: str = "quadratic"

    def __post_init__(self) -> None:
        if self.kind not in MODIFIER_KINDS:
            raise ValueError(f"nuisance {self.nuisance!r}: kind must be one of {MODIFIER_KINDS}, got {self.kind!r}")
        if self.kind == "shape":
            if self.down is None or self.up is None:
                raise ValueError(f"shape nuisance {self.nuisance!r} needs templates at -1 and +1 sigma")
            if self.interpolation not in INTERPOLATIONS:
                raise ValueError(f"shape nuisance {self.nuisance!r}: interpolation must be one of {INTERPOLATIONS}")
            for name in ("down", "up"):
                arr = np.asarray(getattr(self, name), dtype=float)
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"shape nuisance {self.nuisance!r}: {name} template is not finite")
                object.__setattr__(self, name, arr)
        elif not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"nuisance {self.nuisance!r}: relative sigma must be finite and > 0, got {self.sigma!r}")

    @property
    def lower_bound(self) -> float:
        """Smallest theta keeping a normal factor positive (1 + sigma theta > 0)."""
        return -1.0 / self.sigma + 1e-9 if self.kind == "normal" else -np.inf


def _check_template(values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: template has non-finite values")
    return arr


@dataclass(frozen=True, eq=False)
class Sample:
    """A coupling-independent template (events per bin) with its modifiers."""

    name: str
    nominal: np.ndarray
    modifiers: tuple[Modifier, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "nominal", _check_template(self.nominal, f"sample {self.name!r}"))
        if self.nominal.ndim != 1:
            raise ValueError(f"sample {self.name!r}: nominal must be 1-d (bins)")
        if np.any(self.nominal < 0):
            raise ValueError(f"sample {self.name!r}: negative expected events")
        for m in self.modifiers:
            if m.kind == "shape" and (m.down.shape != self.nominal.shape or m.up.shape != self.nominal.shape):
                raise ValueError(f"sample {self.name!r}: shape nuisance {m.nuisance!r} has the wrong template shape")


@dataclass(frozen=True, eq=False)
class Signal:
    """New-physics terms of one flux group: ``terms`` (2, n_mass, n_bins) = (linear, quadratic) in G.

    A shape modifier's ``down`` and ``up`` have the shape of ``terms``.
    """

    name: str
    terms: np.ndarray
    modifiers: tuple[Modifier, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", _check_template(self.terms, f"signal {self.name!r}"))
        if self.terms.ndim != 3 or self.terms.shape[0] != 2:
            raise ValueError(f"signal {self.name!r}: terms must have shape (2, n_mass, n_bins)")
        if np.any(self.terms[1] < 0):
            raise ValueError(f"signal {self.name!r}: the quadratic term must be >= 0")
        for m in self.modifiers:
            if m.kind == "shape" and (m.down.shape != self.terms.shape or m.up.shape != self.terms.shape):
                raise ValueError(f"signal {self.name!r}: shape nuisance {m.nuisance!r} has the wrong template shape")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Observed counts, samples and signals of one data set (or a combination) for one mediator model.

    ``masses_MeV`` is the mediator-mass grid of the signal terms; ``free`` names unconstrained nuisances.
    """

    name: str
    observed: np.ndarray
    samples: tuple[Sample, ...]
    signals: tuple[Signal, ...] = ()
    masses_MeV: np.ndarray = field(default_factory=lambda: np.zeros(0))
    free: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        n = _check_template(self.observed, f"data set {self.name!r} observed counts")
        if n.ndim != 1 or n.size == 0 or np.any(n < 0):
            raise ValueError(f"data set {self.name!r}: observed counts must be a non-empty 1-d array >= 0")
        object.__setattr__(self, "observed", n)
        masses = np.atleast_1d(np.asarray(self.masses_MeV, dtype=float))
        object.__setattr__(self, "masses_MeV", masses)
        for s in self.samples:
            if s.nominal.shape != n.shape:
                raise ValueError(f"data set {self.name!r}: sample {s.name!r} has {s.nominal.size} bins, not {n.size}")
        for g in self.signals:
            if g.terms.shape[1:] != (masses.size, n.size):
                raise ValueError(
                    f"data set {self.name!r}: signal {g.name!r} has shape {g.terms.shape[1:]}, "
                    f"expected ({masses.size} masses, {n.size} bins)"
                )
        if not self.samples:
            raise ValueError(f"data set {self.name!r} has no samples")

    @property
    def n_bins(self) -> int:
        return self.observed.size

    @property
    def nuisances(self) -> tuple[str, ...]:
        """Names of all nuisances, in order of first appearance."""
        names: dict[str, None] = {}
        for part in (*self.samples, *self.signals):
            for m in part.modifiers:
                names.setdefault(m.nuisance)
        return tuple(names)

    def expected_sm(self) -> np.ndarray:
        """Expected counts at G = 0 and nominal nuisances (the Asimov data of the background-only fit)."""
        return sum(s.nominal for s in self.samples)

    def with_observed(self, counts: np.ndarray) -> Dataset:
        """The same data set with other observed counts (a toy or an Asimov data set)."""
        return replace(self, observed=np.asarray(counts, dtype=float))

    def without_nuisances(self) -> Dataset:
        """Every modifier dropped: the nuisances fixed at their nominal values (the paper's likelihood)."""
        return replace(
            self,
            samples=tuple(replace(s, modifiers=()) for s in self.samples),
            signals=tuple(replace(g, modifiers=()) for g in self.signals),
            free=frozenset(),
        )


def combine(datasets: Sequence[Dataset], name: str) -> Dataset:
    """Joint data set: bins concatenated, nuisances shared by name (one parameter, one pull term).

    Samples and signals keep their data set's bins and are zero elsewhere; the mass grids must agree.
    """
    if not datasets:
        raise ValueError(f"combination {name!r} lists no data sets")
    masses = datasets[0].masses_MeV
    for d in datasets[1:]:
        if d.masses_MeV.shape != masses.shape or not np.allclose(d.masses_MeV, masses, rtol=1e-12):
            raise ValueError(f"combination {name!r}: {d.name!r} has another mediator-mass grid")
    sizes = [d.n_bins for d in datasets]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total = int(offsets[-1])

    def pad(values: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros(values.shape[:-1] + (total,))
        out[..., offsets[k] : offsets[k + 1]] = values
        return out

    def pad_mods(mods: tuple[Modifier, ...], k: int) -> tuple[Modifier, ...]:
        return tuple(replace(m, down=pad(m.down, k), up=pad(m.up, k)) if m.kind == "shape" else m for m in mods)

    samples, signals = [], []
    for k, d in enumerate(datasets):
        samples += [Sample(f"{d.name}/{s.name}", pad(s.nominal, k), pad_mods(s.modifiers, k)) for s in d.samples]
        signals += [Signal(f"{d.name}/{g.name}", pad(g.terms, k), pad_mods(g.modifiers, k)) for g in d.signals]
    return Dataset(
        name=name,
        observed=np.concatenate([d.observed for d in datasets]),
        samples=tuple(samples),
        signals=tuple(signals),
        masses_MeV=masses,
        free=frozenset().union(*(d.free for d in datasets)),
    )


# --- evaluation and profiling -------------------------------------------------------------------------


def _shape_coefficients(theta: np.ndarray, interpolation: str) -> tuple[np.ndarray, ...]:
    """(c_up, c_down, dc_up, dc_down) with Delta(theta) = c_up (up - nom) + c_down (down - nom)."""
    t = np.asarray(theta, dtype=float)
    if interpolation == "linear":
        pos = t >= 0
        return np.where(pos, t, 0.0), np.where(pos, 0.0, -t), pos * 1.0, np.where(pos, 0.0, -1.0)
    inside_up = 0.5 * (t + t * t)
    inside_down = 0.5 * (t * t - t)
    c_up = np.where(t > 1, 1.0 + 1.5 * (t - 1), np.where(t < -1, -0.5 * (t + 1), inside_up))
    c_down = np.where(t > 1, 0.5 * (t - 1), np.where(t < -1, 1.0 - 1.5 * (t + 1), inside_down))
    dc_up = np.where(t > 1, 1.5, np.where(t < -1, -0.5, 0.5 + t))
    dc_down = np.where(t > 1, 0.5, np.where(t < -1, -1.5, t - 0.5))
    return c_up, c_down, dc_up, dc_down


@dataclass(frozen=True)
class _Part:
    """A sample or signal compiled for evaluation: indices of its nuisances and template differences."""

    nominal: np.ndarray  # (B,) or (2, M, B)
    norms: tuple[tuple[int, str, float], ...]  # (nuisance index, kind, sigma)
    shapes: tuple[tuple[int, np.ndarray, np.ndarray, str], ...]  # (index, up - nom, down - nom, interpolation)
    is_signal: bool
    has_quad: bool = True  # a signal with a term quadratic in G (a sample: unused)


@dataclass
class FitResult:
    """Profiled fits at P points.

    Attributes
    ----------
    theta
        (P, K) nuisance values, in the order of :attr:`Model.names`.
    g
        (P,) coupling product at the minimum (the given one unless it was free).
    nll2
        (P,) -2 ln L at the minimum (Baker-Cousins deviance plus pull terms).
    ok
        (P,) the fit converged and no nuisance ended on a bound.
    n_iter
        Iterations used.
    """

    theta: np.ndarray
    g: np.ndarray
    nll2: np.ndarray
    ok: np.ndarray
    n_iter: int


class Model:
    """Vectorised expected counts, -2 ln L and profiled fits of a :class:`Dataset`."""

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.names: tuple[str, ...] = data.nuisances
        index = {n: k for k, n in enumerate(self.names)}
        unknown = set(data.free) - set(self.names)
        if unknown:
            raise ValueError(f"data set {data.name!r}: free nuisances {sorted(unknown)} act on nothing")
        self.constrained = np.array([n not in data.free for n in self.names], dtype=bool)
        self.lower = np.where(self.constrained, -THETA_BOUND, -FREE_BOUND)
        self.upper = np.where(self.constrained, THETA_BOUND, FREE_BOUND)
        parts = []
        for part in (*data.samples, *data.signals):
            is_signal = isinstance(part, Signal)
            nominal = part.terms if is_signal else part.nominal
            norms, shapes = [], []
            for m in part.modifiers:
                k = index[m.nuisance]
                if m.kind == "shape":
                    shapes.append((k, m.up - nominal, m.down - nominal, m.interpolation))
                else:
                    norms.append((k, m.kind, m.sigma))
                    self.lower[k] = max(self.lower[k], m.lower_bound)
            has_quad = is_signal and (
                bool(np.any(nominal[1])) or any(np.any(u[1]) or np.any(d[1]) for _, u, d, _ in shapes)
            )
            parts.append(_Part(nominal, tuple(norms), tuple(shapes), is_signal, has_quad))
        self._parts = tuple(parts)
        self.observed = data.observed

    @property
    def n_nuisances(self) -> int:
        return len(self.names)

    def evaluate(
        self, theta: np.ndarray, g: np.ndarray, mass_index: np.ndarray, jacobian: bool = True, d_g: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Expected counts mu (P, B) and, if asked, d mu / d(theta[, G]) (P, B, K[+1])."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        p = theta.shape[0]
        g = np.broadcast_to(np.asarray(g, dtype=float), (p,))
        midx = np.broadcast_to(np.asarray(mass_index, dtype=int), (p,))
        n_par = self.n_nuisances + (1 if d_g else 0)
        mu = np.zeros((p, self.observed.size))
        jac = np.zeros((p, self.observed.size, n_par)) if jacobian else None
        coefficients: dict[tuple[int, str], tuple[np.ndarray, ...]] = {}  # a nuisance acts on several parts
        for part in self._parts:
            if part.is_signal:  # quad None: no term quadratic in G (skipped, same numbers)
                lin, quad = part.nominal[0][midx], part.nominal[1][midx] if part.has_quad else None
            else:
                tmpl = part.nominal  # (B,): broadcast against (P, B) below; replaced, never modified in place
            shape_grads = []
            for k, d_up, d_down, interp in part.shapes:
                if (k, interp) not in coefficients:
                    coefficients[k, interp] = _shape_coefficients(theta[:, k], interp)
                c_up, c_down, dc_up, dc_down = coefficients[k, interp]
                if part.is_signal:
                    up0, down0 = d_up[0][midx], d_down[0][midx]
                    lin = lin + c_up[:, None] * up0 + c_down[:, None] * down0
                    d_shape = (dc_up[:, None] * up0 + dc_down[:, None] * down0) * g[:, None]
                    if quad is not None:
                        up1, down1 = d_up[1][midx], d_down[1][midx]
                        quad = quad + c_up[:, None] * up1 + c_down[:, None] * down1
                        d_shape = d_shape + (dc_up[:, None] * up1 + dc_down[:, None] * down1) * (g * g)[:, None]
                    shape_grads.append((k, d_shape))
                else:
                    tmpl = tmpl + (c_up[:, None] * d_up + c_down[:, None] * d_down)
                    shape_grads.append((k, dc_up[:, None] * d_up + dc_down[:, None] * d_down))
            if part.is_signal:
                tmpl = lin * g[:, None] if quad is None else lin * g[:, None] + quad * (g * g)[:, None]
            factor = np.ones(p)
            dlog = []
            for k, kind, sigma in part.norms:
                if kind == "normal":
                    f = 1.0 + sigma * theta[:, k]
                    dlog.append((k, sigma / f))
                else:
                    kappa = np.log1p(sigma)
                    f = np.exp(kappa * theta[:, k])
                    dlog.append((k, np.full(p, kappa)))
                factor = factor * f
            mu += factor[:, None] * tmpl
            if jacobian:
                for k, d_tmpl in shape_grads:
                    jac[:, :, k] += factor[:, None] * d_tmpl
                for k, dl in dlog:
                    jac[:, :, k] += (dl * factor)[:, None] * tmpl
                if d_g and part.is_signal:
                    jac[:, :, -1] += factor[:, None] * (lin if quad is None else lin + 2.0 * quad * g[:, None])
        return mu, jac

    def nll2(
        self, mu: np.ndarray, theta: np.ndarray, observed: np.ndarray | None = None, aux: np.ndarray | None = None
    ) -> np.ndarray:
        """-2 ln L (Baker-Cousins deviance plus pulls) per point; +inf where some mu <= 0 with n > 0.

        ``aux`` (P, K): the centres of the pulls, (theta - aux)^2 (a toy's auxiliary measurements); default 0.
        """
        n = self.observed if observed is None else observed
        # mu - n + n ln(n / mu) = (mu - n) - n log1p((mu - n) / n): no cancellation between n ln n and n ln mu,
        # which loses ~1e-9 at 1e5 counts per bin (below the fit's convergence tolerance); mu where n = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            safe_n = np.where(n > 0, n, 1.0)
            dev = 2.0 * np.where(n > 0, (mu - n) - n * np.log1p((mu - n) / safe_n), mu).sum(axis=-1)
        bad = np.any((mu <= 0) & (n > 0), axis=-1) | np.any(mu < 0, axis=-1)
        shifted = np.atleast_2d(theta) if aux is None else np.atleast_2d(theta) - aux
        pulls = (shifted[:, self.constrained] ** 2).sum(axis=-1)
        return np.where(bad, np.inf, dev + pulls)

    def profile(
        self,
        g: np.ndarray,
        mass_index: np.ndarray,
        theta0: np.ndarray | None = None,
        free_g: bool = False,
        max_iter: int = 200,
        tol: float = 1e-10,
        observed: np.ndarray | None = None,
        aux: np.ndarray | None = None,
    ) -> FitResult:
        """Minimise -2 ln L over the nuisances (and over G >= 0 if ``free_g``) at every point.

        ``observed`` (P, n_bins) gives each point its own counts (toys); default the data set's. ``aux``
        (P, K) gives each point its own auxiliary measurements, the centres of the pull terms (toys of the
        profile construction); default 0.

        Fisher-scoring Newton steps (Hessian 2 sum J J^T / mu + 2 diag(pulls), Jacobi-scaled), projected on
        the bounds, with a backtracking line search; a point has converged when its Newton decrement
        g^T H^-1 g falls below ``tol`` (units of -2 ln L).
        """
        g = np.atleast_1d(np.asarray(g, dtype=float))
        p = g.size
        midx = np.broadcast_to(np.asarray(mass_index, dtype=int), (p,))
        k_nuis = self.n_nuisances
        theta = np.zeros((p, k_nuis)) if theta0 is None else np.array(np.broadcast_to(theta0, (p, k_nuis)), float)
        theta = np.clip(theta, self.lower, self.upper)
        n_par = k_nuis + (1 if free_g else 0)
        if n_par == 0:
            mu, _ = self.evaluate(theta, g, midx, jacobian=False)
            nll = self.nll2(mu, theta, observed, aux)
            return FitResult(theta, g.copy(), nll, np.isfinite(nll), 0)
        lower = np.r_[self.lower, 0.0] if free_g else self.lower
        upper = np.r_[self.upper, np.inf] if free_g else self.upper
        pull = np.r_[self.constrained, False] if free_g else self.constrained
        x = np.concatenate([theta, g[:, None]], axis=1) if free_g else theta
        done = np.zeros(p, dtype=bool)
        counts = np.broadcast_to(
            self.observed if observed is None else np.asarray(observed, float), (p, self.observed.size)
        )
        centres = None if aux is None else np.broadcast_to(np.asarray(aux, float), (p, k_nuis))
        if centres is not None and free_g:
            centres = np.concatenate([centres, np.zeros((p, 1))], axis=1)

        def state(xs: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            th, gg = (xs[:, :k_nuis], xs[:, -1]) if free_g else (xs, g[idx])
            mu, jac = self.evaluate(th, gg, midx[idx], jacobian=True, d_g=free_g)
            return mu, jac

        stalled = np.zeros(p, dtype=bool)
        # a step accepted at full length was evaluated with its Jacobian: the next iteration reuses it
        cached, mu_c, jac_c = np.zeros(p, dtype=bool), None, None
        n_iter = 0
        for _ in range(max_iter):
            idx = np.nonzero(~done)[0]
            if idx.size == 0:
                break
            n_iter += 1
            xs = x[idx]
            old = cached[idx]
            if old.any():
                mu, jac = np.empty((idx.size,) + mu_c.shape[1:]), np.empty((idx.size,) + jac_c.shape[1:])
                mu[old], jac[old] = mu_c[idx[old]], jac_c[idx[old]]
                if not old.all():
                    mu[~old], jac[~old] = state(xs[~old], idx[~old])
            else:
                mu, jac = state(xs, idx)
            cached[idx] = False
            th = xs[:, :k_nuis]
            n = counts[idx]
            cen = None if centres is None else centres[idx]
            obj = self.nll2(mu, th, n, None if cen is None else cen[:, :k_nuis])
            safe_mu = np.where(mu > 0, mu, np.inf)
            # batched matrix products (BLAS): J^T r and J^T W J
            jac_t = jac.transpose(0, 2, 1)
            shift = xs if cen is None else xs - cen  # distance from the pulls' centres
            grad = 2.0 * (jac_t @ (1.0 - n / safe_mu)[:, :, None])[:, :, 0] + 2.0 * pull * shift
            hess = 2.0 * (jac_t @ (jac / safe_mu[:, :, None]))
            hess[:, np.arange(n_par), np.arange(n_par)] += 2.0 * pull
            at_lo = (xs <= lower + 1e-12) & (grad > 0)
            at_hi = (xs >= upper - 1e-12) & (grad < 0)
            fixed = at_lo | at_hi
            grad = np.where(fixed, 0.0, grad)
            hess = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, hess)
            r = np.arange(n_par)
            hess[:, r, r] += np.where(fixed | (hess[:, r, r] <= 0), 1.0, 0.0)
            scale = 1.0 / np.sqrt(hess[:, r, r])
            scaled = hess * scale[:, :, None] * scale[:, None, :]
            scaled += 1e-12 * np.eye(n_par)
            step = -np.linalg.solve(scaled, (grad * scale)[..., None])[..., 0] * scale
            decrement = -(grad * step).sum(axis=1)
            converged = np.isfinite(obj) & (decrement < tol)
            done[idx[converged]] = True
            move = ~converged
            if not move.any():
                continue
            idx, xs, step, obj, n = idx[move], xs[move], step[move], obj[move], n[move]
            cen = None if cen is None else cen[move, :k_nuis]
            t = np.ones(idx.size)
            accepted = np.zeros(idx.size, dtype=bool)
            for k in range(40):
                trial = np.clip(xs + t[:, None] * step, lower, upper)
                mu_t, jac_t = self.evaluate(
                    trial[:, :k_nuis], trial[:, -1] if free_g else g[idx], midx[idx], jacobian=k == 0, d_g=free_g
                )
                obj_t = self.nll2(mu_t, trial[:, :k_nuis], n, cen)
                good = ~accepted & (obj_t <= obj + 1e-12 * np.abs(obj))
                x[idx[good]] = trial[good]
                if k == 0 and good.any():
                    if mu_c is None:
                        mu_c, jac_c = np.empty((p,) + mu_t.shape[1:]), np.empty((p,) + jac_t.shape[1:])
                    mu_c[idx[good]], jac_c[idx[good]], cached[idx[good]] = mu_t[good], jac_t[good], True
                accepted |= good
                if accepted.all():
                    break
                t = np.where(accepted, t, 0.5 * t)
            # no decrease along a Newton direction with a large decrement: numerical trouble
            done[idx[~accepted]] = True
            stalled[idx[~accepted]] = True
        theta = x[:, :k_nuis]
        g_out = x[:, -1] if free_g else g.copy()
        mu, _ = self.evaluate(theta, g_out, midx, jacobian=False)
        nll = self.nll2(mu, theta, counts, None if centres is None else centres[:, :k_nuis])
        on_bound = np.any((theta <= self.lower + 1e-6) | (theta >= self.upper - 1e-6), axis=1)
        ok = done & ~stalled & np.isfinite(nll) & ~on_bound
        return FitResult(theta, g_out, nll, ok, n_iter)
