"""The profiled test statistic q(G) at every mediator mass of a data set (:mod:`nufog.inference`).

    q(G) = -2 ln L(G, theta_hat_hat(G)) + 2 ln L(G_ref, theta_hat_hat(G_ref))

with the reference ``background_only`` (G_ref = 0) or ``best_fit`` (the profiled G_hat >= 0, and q = 0 for
G < G_hat); physics.md section 8.
"""

from __future__ import annotations

import numpy as np

from nufog.likelihood import Dataset, Model

__all__ = ["Statistic", "coupling_for_events"]


class Statistic:
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
            g_start = coupling_for_events(data, np.full(self.n_mass, excess))
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


def coupling_for_events(data: Dataset, events: np.ndarray) -> np.ndarray:
    """G at which |L| G + Q G^2 summed over bins gives ``events`` (per mass, broadcast)."""
    lin = np.abs(sum(g.terms[0] for g in data.signals)).sum(axis=-1)
    quad = sum(g.terms[1] for g in data.signals).sum(axis=-1)
    ev = np.asarray(events, dtype=float)
    lin = lin.reshape(lin.shape + (1,) * (ev.ndim - 1)) if ev.ndim > 1 else lin
    quad = quad.reshape(lin.shape)
    return 2.0 * ev / (lin + np.sqrt(lin**2 + 4.0 * quad * ev))
