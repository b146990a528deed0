"""One binned Poisson likelihood for every data set, with named nuisance parameters (physics.md section 8).

A :class:`Dataset` (the data classes live in :mod:`nufog.binned`, re-exported here) has analysis bins i
with observed counts n_i and expected counts

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
from dataclasses import dataclass

import numpy as np

from nufog.binned import INTERPOLATIONS, MODIFIER_KINDS, Dataset, Modifier, Sample, Signal, combine

__all__ = [
    "Modifier",
    "Sample",
    "Signal",
    "Dataset",
    "combine",
    "Model",
    "FitResult",
    "MODIFIER_KINDS",
    "INTERPOLATIONS",
    "THETA_BOUND",
    "FREE_BOUND",
]

#: |theta| bound of a constrained nuisance (a pull of 5 sigma is never a physical fit)
THETA_BOUND = 5.0
#: |theta| bound of an unconstrained (free) nuisance
FREE_BOUND = 1e3
#: points per block of a profiled fit (:meth:`Model.profile`): a big scan's 10^4 masses at once made every
#: evaluation allocate hundreds of MB (measured on XENONnT 2026, 10^4 points, one core: 7.1 s, 4.8 s of it
#: in the kernel, 1.8 GB, against 2.2-2.5 s and 0.5 GB in blocks of 256-500)
PROFILE_BLOCK = 512


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
class _Rows:
    """Templates compiled for matrix products: mu is linear in every template row.

    With parts q (samples, then signals), normalisation factors f_q(theta), shape coefficients c_s(theta)
    (column 0 = 1, columns 1 + 2 s / 2 + 2 s = c_up / c_down of shape key s) and powers G^e (e = 0 for
    samples, 1 and 2 for the linear and quadratic signal terms)::

        mu_i = sum_r w_r R_ri,  w_r = f_q(r) c_col(r) G^e(r)

    over rows r = nominal templates and their up/down differences (only the rows that exist). Every
    derivative is the same product with other weights: d w_r / d theta_k = w_r d ln f_q / d theta_k
    (normalisations) + f_q dc_col / d theta_k G^e (the shape key's own nuisance), d w_r / dG = e w_r / G.
    Sample rows do not depend on the mass (one matrix product); signal rows are gathered at each point's
    mass.
    """

    rows: np.ndarray  # (T, B) sample rows, or (M, T, B) signal rows
    part: np.ndarray  # (T,) part of each row
    col: np.ndarray  # (T,) shape-coefficient column
    power: np.ndarray  # (T,) power of G
    shape_nuisance: np.ndarray  # (T,) nuisance of the row's shape key, -1 for nominal rows


def _gradient_and_information(
    mu: np.ndarray, jac: np.ndarray, n: np.ndarray, shift: np.ndarray, pull: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of -2 ln L and its Fisher information (the Newton step's Hessian), per point, from mu (P, B),
    the (P, N, B) Jacobian of mu in N parameters, counts n, the parameters' distance from their pull centres
    ``shift`` (P, N) and ``pull`` (N,), True for the parameters with a unit Gaussian pull. Batched matrix
    products (BLAS): 2 J^T (1 - n / mu) + 2 pull shift and 2 J^T diag(1 / mu) J + 2 diag(pull)."""
    safe_mu = np.where(mu > 0, mu, np.inf)
    grad = 2.0 * (jac @ (1.0 - n / safe_mu)[:, :, None])[:, :, 0] + 2.0 * pull * shift
    hess = 2.0 * (jac @ (jac / safe_mu[:, None, :]).transpose(0, 2, 1))
    diag = np.arange(jac.shape[1])
    hess[:, diag, diag] += 2.0 * pull
    return grad, hess


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
    converged
        (P,) the fit converged (a nuisance may sit on a bound); None where the producer does not say
        (the exact COHERENT fits): then as ``ok``.
    """

    theta: np.ndarray
    g: np.ndarray
    nll2: np.ndarray
    ok: np.ndarray
    n_iter: int
    converged: np.ndarray | None = None


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
        #: the search box alone, without the physical bounds (a normal factor 1 + sigma theta > 0) set below
        self.box_lower = self.lower.copy()
        parts = (*data.samples, *data.signals)
        #: interpolation key (nuisance, interpolation) of every shape nuisance: one coefficient column pair
        self._shape_keys: tuple[tuple[int, str], ...] = tuple(
            dict.fromkeys((index[m.nuisance], m.interpolation) for q in parts for m in q.modifiers if m.kind == "shape")
        )
        key_of = {key: s for s, key in enumerate(self._shape_keys)}
        #: normalisation modifiers (part, nuisance index, kind, sigma)
        norms = [(q, index[m.nuisance], m) for q, x in enumerate(parts) for m in x.modifiers if m.kind != "shape"]
        self._norms = tuple((q, k, m.kind, m.sigma) for q, k, m in norms)
        for _, k, m in norms:
            self.lower[k] = max(self.lower[k], m.lower_bound)
        self._n_parts = len(parts)

        def compile_rows(first: int, members: Sequence, powers: Sequence[int]) -> _Rows:
            rows, part, col, power, nuis = [], [], [], [], []
            for q, x in enumerate(members, start=first):
                for e in powers:
                    nominal = x.nominal if e == 0 else x.terms[e - 1]
                    if e == 2 and not (
                        np.any(nominal)
                        or any(np.any(m.up[1]) or np.any(m.down[1]) for m in x.modifiers if m.kind == "shape")
                    ):
                        continue  # no term quadratic in G: its rows are zero
                    rows.append(nominal)
                    part.append(q), col.append(0), power.append(e), nuis.append(-1)
                    for m in x.modifiers:
                        if m.kind == "shape":
                            s = key_of[index[m.nuisance], m.interpolation]
                            for side, values in ((1, m.up), (2, m.down)):
                                rows.append((values if e == 0 else values[e - 1]) - nominal)
                                part.append(q), col.append(2 * s + side), power.append(e)
                                nuis.append(index[m.nuisance])
            stacked = np.stack(rows, axis=-2) if rows else np.zeros((0, data.n_bins))
            return _Rows(stacked, *(np.array(v, dtype=int) for v in (part, col, power, nuis)))

        self._sample_rows = compile_rows(0, data.samples, (0,))
        self._signal_rows = compile_rows(len(data.samples), data.signals, (1, 2)) if data.signals else None
        self.observed = data.observed
        self._safe_observed = np.where(data.observed > 0, data.observed, 1.0)

    @property
    def n_nuisances(self) -> int:
        return len(self.names)

    def evaluate(
        self, theta: np.ndarray, g: np.ndarray, mass_index: np.ndarray, jacobian: bool = True, d_g: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Expected counts mu (P, B) and, if asked, d mu / d(theta[, G]) (P, B, K[+1]) (a transposed view of
        the (P, K[+1], B) array that :meth:`profile` uses)."""
        mu, jac_t = self._evaluate(theta, g, mass_index, jacobian, d_g)
        return mu, None if jac_t is None else jac_t.transpose(0, 2, 1)

    def _evaluate(
        self, theta: np.ndarray, g: np.ndarray, mass_index: np.ndarray, jacobian: bool, d_g: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """mu (P, B) and d mu / d(theta[, G]) as a (P, K[+1], B) array (the :class:`_Rows` products)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        p, n_k = theta.shape[0], self.n_nuisances
        g = np.broadcast_to(np.asarray(g, dtype=float), (p,))
        midx = np.broadcast_to(np.asarray(mass_index, dtype=int), (p,))
        n_keys = len(self._shape_keys)
        c_tab, dc_tab = np.ones((p, 1 + 2 * n_keys)), np.zeros((p, 1 + 2 * n_keys))
        for s, (k, interp) in enumerate(self._shape_keys):
            c_tab[:, 1 + 2 * s], c_tab[:, 2 + 2 * s], dc_tab[:, 1 + 2 * s], dc_tab[:, 2 + 2 * s] = _shape_coefficients(
                theta[:, k], interp
            )
        factor = np.ones((p, self._n_parts))
        dlog = np.zeros((p, n_k, self._n_parts)) if jacobian else None
        for q, k, kind, sigma in self._norms:
            if kind == "normal":
                f = 1.0 + sigma * theta[:, k]
                if jacobian:
                    dlog[:, k, q] += sigma / f
            else:
                kappa = np.log1p(sigma)
                f = np.exp(kappa * theta[:, k])
                if jacobian:
                    dlog[:, k, q] += kappa
            factor[:, q] *= f
        g_pow = np.stack([np.ones(p), g, g * g], axis=1)
        n_out = 1 + (n_k + (1 if d_g else 0) if jacobian else 0)

        def weights(r: _Rows) -> np.ndarray:
            """(P, n_out, T): the weights of mu and of each derivative."""
            f_rows = factor[:, r.part]
            base = f_rows * c_tab[:, r.col] * g_pow[:, r.power]
            w = np.zeros((p, n_out, r.part.size))
            w[:, 0] = base
            if jacobian:
                w[:, 1 : 1 + n_k] = dlog[:, :, r.part] * base[:, None, :]
                shaped = np.nonzero(r.shape_nuisance >= 0)[0]
                w[:, 1 + r.shape_nuisance[shaped], shaped] += (f_rows * dc_tab[:, r.col] * g_pow[:, r.power])[:, shaped]
                if d_g:  # d G^e / dG = e G^(e - 1)
                    w[:, -1] = f_rows * c_tab[:, r.col] * np.where(r.power == 2, 2.0 * g[:, None], 1.0) * (r.power > 0)
            return w

        rows = self._sample_rows
        w = weights(rows)
        out = (w.reshape(-1, rows.part.size) @ rows.rows).reshape(p, n_out, self.observed.size)
        if self._signal_rows is not None:
            rows = self._signal_rows
            out += weights(rows) @ rows.rows[midx]
        return out[:, 0], (out[:, 1:] if jacobian else None)

    def free_g_information(
        self, theta: np.ndarray, g: np.ndarray, mass_index: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """mu (P, B), the gradient of -2 ln L in (theta, G) (P, K+1) and its Fisher information (P, K+1, K+1)
        at the points (theta, G, mass): the quantities of :meth:`profile`'s Newton step with G free."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        mu, jac = self._evaluate(theta, g, mass_index, True, True)
        g_col = np.broadcast_to(np.asarray(g, dtype=float), (theta.shape[0],))[:, None]
        pull = np.r_[self.constrained, False]
        grad, info = _gradient_and_information(mu, jac, self.observed, np.concatenate([theta, g_col], axis=1), pull)
        return mu, grad, info

    def on_bound(self, theta: np.ndarray) -> np.ndarray:
        """Per point: some nuisance within 1e-6 of its bound (a fit that ends there is not ``ok``)."""
        return np.any((theta <= self.lower + 1e-6) | (theta >= self.upper - 1e-6), axis=-1)

    def on_box(self, theta: np.ndarray) -> np.ndarray:
        """Per point: some nuisance within 1e-6 of the search box (+-5 sigma, or +-1000 for a free one): the
        minimum may lie beyond it. A physical bound (a normalisation factor at 0) is not the box."""
        return np.any((theta <= self.box_lower + 1e-6) | (theta >= self.upper - 1e-6), axis=-1)

    def nll2(
        self, mu: np.ndarray, theta: np.ndarray, observed: np.ndarray | None = None, aux: np.ndarray | None = None
    ) -> np.ndarray:
        """-2 ln L (Baker-Cousins deviance plus pulls) per point; +inf where some mu <= 0 with n > 0.

        ``aux`` (P, K): the centres of the pulls, (theta - aux)^2 (a toy's auxiliary measurements); default 0.
        """
        if observed is None:
            n, safe_n = self.observed, self._safe_observed
        else:
            n = observed
            safe_n = np.where(n > 0, n, 1.0)
        # mu - n + n ln(n / mu) = (mu - n) - n log1p((mu - n) / n): no cancellation between n ln n and n ln mu,
        # which loses ~1e-9 at 1e5 counts per bin (below the fit's convergence tolerance). Where n = 0 the
        # term is mu (n log1p(.) = 0 with the divisor 1). A point with mu = 0 where n > 0 (dev = +inf) or mu < 0
        # anywhere gets +inf; a NaN mu stays NaN (the profile's line search rejects it and stops).
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = mu - n
            dev = 2.0 * (diff - n * np.log1p(diff / safe_n)).sum(axis=-1)
            bad = np.isinf(dev) | (mu.min(axis=-1) < 0)
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
        if p > PROFILE_BLOCK:  # the points' fits are independent: in blocks, whose arrays stay small
            th0 = None if theta0 is None else np.broadcast_to(theta0, (p, k_nuis))
            obs = None if observed is None else np.broadcast_to(observed, (p, self.observed.size))
            cen = None if aux is None else np.broadcast_to(aux, (p, k_nuis))
            fits = [
                self.profile(
                    g[sl],
                    midx[sl],
                    None if th0 is None else th0[sl],
                    free_g,
                    max_iter,
                    tol,
                    None if obs is None else obs[sl],
                    None if cen is None else cen[sl],
                )
                for sl in (slice(start, start + PROFILE_BLOCK) for start in range(0, p, PROFILE_BLOCK))
            ]
            theta, g_out, nll, ok, converged = (
                np.concatenate([getattr(f, name) for f in fits]) for name in ("theta", "g", "nll2", "ok", "converged")
            )
            return FitResult(theta, g_out, nll, ok, max(f.n_iter for f in fits), converged)
        theta = np.zeros((p, k_nuis)) if theta0 is None else np.array(np.broadcast_to(theta0, (p, k_nuis)), float)
        theta = np.clip(theta, self.lower, self.upper)
        n_par = k_nuis + (1 if free_g else 0)
        if n_par == 0:
            mu, _ = self.evaluate(theta, g, midx, jacobian=False)
            nll = self.nll2(mu, theta, observed, aux)
            return FitResult(theta, g.copy(), nll, np.isfinite(nll), 0, np.isfinite(nll))
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
            return self._evaluate(th, gg, midx[idx], True, free_g)

        stalled = np.zeros(p, dtype=bool)
        final = np.full(p, np.nan)  # -2 ln L at the point where each fit ended
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
            shift = xs if cen is None else xs - cen  # distance from the pulls' centres
            grad, hess = _gradient_and_information(mu, jac, n, shift, pull)
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
            final[idx[converged]] = obj[converged]
            move = ~converged
            if not move.any():
                continue
            idx, xs, step, obj, n = idx[move], xs[move], step[move], obj[move], n[move]
            cen = None if cen is None else cen[move, :k_nuis]
            t = np.ones(idx.size)
            accepted = np.zeros(idx.size, dtype=bool)
            for k in range(40):
                trial = np.clip(xs + t[:, None] * step, lower, upper)
                mu_t, jac_t = self._evaluate(
                    trial[:, :k_nuis], trial[:, -1] if free_g else g[idx], midx[idx], k == 0, free_g
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
            final[idx[~accepted]] = obj[~accepted]
        theta = x[:, :k_nuis]
        g_out = x[:, -1] if free_g else g.copy()
        rest = np.nonzero(~done)[0]  # out of iterations: -2 ln L where they stopped
        if rest.size:
            mu, _ = self._evaluate(theta[rest], g_out[rest], midx[rest], False, False)
            final[rest] = self.nll2(mu, theta[rest], counts[rest], None if centres is None else centres[rest, :k_nuis])
        nll = final
        converged = done & ~stalled & np.isfinite(nll)
        return FitResult(theta, g_out, nll, converged & ~self.on_bound(theta), n_iter, converged)
