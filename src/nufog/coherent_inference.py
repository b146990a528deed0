"""COHERENT CsI 2021 exact light-mediator limits (physics.md section 5) on the profiled fits of
:mod:`nufog.coherent_profile`: ``results/{run}/coherent/limits_exact_{model}.parquet``, the cross-check of the
shared likelihood core's COHERENT limits. The SM fit and the NSI scan run on the core
(:mod:`nufog.coherent_fits`). Long scans log their progress (:class:`nufog.progress.Progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nufog.coherent_model import CsIModel
from nufog.coherent_profile import bracketed_newton, fit, fit_batch
from nufog.mediators import Mediator, get_model
from nufog.progress import Progress
from nufog.stats import delta_chi2_threshold

__all__ = ["MediatorLimits", "mediator_limit"]

log = logging.getLogger(__name__)


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
    thr = delta_chi2_threshold(cl)
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
