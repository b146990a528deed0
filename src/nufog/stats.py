"""Counting-experiment statistics: Poisson likelihood ratios, event-count and coupling limits.

A data set is summarised by the number of observed events ``n_obs`` (dimensionless; real values are
allowed, e.g. an Asimov projection with ``n_obs = background``) and the expected background
``background`` (events; it already includes the Standard-Model expectation, physics.md section 4).
New physics adds ``s`` events (``s < 0`` is allowed: destructive interference with the SM).

Test statistic (paper Eqs. 20-22, physics.md section 4), with ``q(mu) = 2 (mu - n ln mu)``::

    Delta chi^2(s) = q(b + s) - q(b + s_ref)
    background_only:  s_ref = 0                  ->  2 [ s - n ln((b + s) / b) ]   (paper default)
    best_fit:         s_ref = s_hat = max(n - b, 0)   (one-sided best fit, physics.md section 7)

The limit ``N_lim`` is the root above ``s_ref`` of ``Delta chi^2(s) = chi2.ppf(cl, df=1)``
(2.706 at 90% CL, Wilks). A Gaussian background uncertainty ``sigma_b`` can be profiled
(:func:`delta_chi2_profiled`). Because the BSM count is a quadratic in the coupling product ``G``,
``N_BSM = a G + b2 G^2``, the coupling limit is a closed-form root (:func:`coupling_limit`).

>>> f"{signal_upper_limit(158, 144):.2f}"            # PandaX-4T S2-only, physics.md section 7
'40.58'
>>> f"{signal_upper_limit(158, 144, reference='best_fit'):.2f}"
'35.59'
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, ndtri, pdtr, pdtrik, xlogy

__all__ = [
    "REFERENCES",
    "coupling_limit",
    "delta_chi2",
    "delta_chi2_map",
    "delta_chi2_profiled",
    "delta_chi2_threshold",
    "signal_upper_limit",
]

Reference = Literal["background_only", "best_fit"]

#: Accepted values of the ``reference`` argument (physics.md section 7, "Which likelihood ratio").
REFERENCES: tuple[str, ...] = ("background_only", "best_fit")


# --- validation helpers ---------------------------------------------------------------------------
def _as_float_array(x: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _check_inputs(
    n_obs: ArrayLike, background: ArrayLike, sigma_b: ArrayLike = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    n = _as_float_array(n_obs, "n_obs")
    b = _as_float_array(background, "background")
    sb = _as_float_array(sigma_b, "sigma_b")
    if (n < 0).any() or not np.isfinite(n).all():
        raise ValueError(f"n_obs must be finite and >= 0, got {n_obs!r}")
    if (b <= 0).any() or not np.isfinite(b).all():
        raise ValueError(f"background must be finite and > 0 (events), got {background!r}")
    if (sb < 0).any() or not np.isfinite(sb).all():
        raise ValueError(f"sigma_b must be finite and >= 0 (events), got {sigma_b!r}")
    return n, b, sb


def _check_reference(reference: str) -> None:
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")


def _s_ref(n: NDArray[np.float64], b: NDArray[np.float64], reference: str) -> NDArray[np.float64]:
    """Signal of the reference hypothesis: 0, or the one-sided best fit max(n - b, 0) [events]."""
    if reference == "background_only":
        return np.zeros(np.broadcast(n, b).shape)
    return np.maximum(n - b, 0.0)


def _scalar_or_array(x: NDArray[np.float64]) -> NDArray[np.float64] | float:
    return float(x) if x.ndim == 0 else x


# --- test statistic ---------------------------------------------------------------------------------
def delta_chi2(
    s: ArrayLike, n_obs: ArrayLike, background: ArrayLike, reference: Reference = "background_only"
) -> NDArray[np.float64]:
    """Poisson likelihood-ratio test statistic Delta chi^2 of ``s`` signal events (paper Eqs. 20-22).

    ``Delta chi^2(s) = q(b + s) - q(b + s_ref)`` with ``q(mu) = 2 (mu - n ln mu)``; the reference is
    ``s_ref = 0`` (``"background_only"``, the paper's choice) or ``s_ref = max(n - b, 0)``
    (``"best_fit"``). Evaluated as ``2 [(mu_r - n) x + n (x - log1p(x))]``, ``x = (s - s_ref)/mu_r``,
    ``mu_r = b + s_ref``, which is exact for ``n = 0`` and non-integer ``n``.

    Parameters
    ----------
    s : array_like
        New-physics events (any shape; may be negative). Broadcast against the other arguments.
    n_obs : array_like
        Observed events, >= 0 (need not be an integer).
    background : array_like
        Expected background events including the SM expectation, > 0.
    reference : {"background_only", "best_fit"}
        Reference hypothesis of the likelihood ratio.

    Returns
    -------
    ndarray
        Delta chi^2 (dimensionless), same broadcast shape. ``+inf`` where the expected count
        ``b + s`` is negative, or zero while ``n_obs > 0`` (such points are excluded). Values can be
        negative, e.g. for ``s < 0`` when the data show a deficit (``n_obs < b``).

    Raises
    ------
    ValueError
        If an input is NaN, ``background <= 0``, ``n_obs < 0`` or ``reference`` is unknown.

    Examples
    --------
    >>> delta_chi2([0.0, 10.0], 144, 144).round(6)        # n = b: 2 [s - b ln(1 + s/b)]
    array([0.      , 0.663881])
    >>> float(delta_chi2(2.5, 0, 3.0))                    # n = 0: 2 s
    5.0
    >>> float(delta_chi2(-5.0, 1, 4.0))                   # b + s < 0: excluded
    inf
    """
    _check_reference(reference)
    s_arr = _as_float_array(s, "s")
    n, b, _ = _check_inputs(n_obs, background)
    s_arr, n, b = np.broadcast_arrays(s_arr, n, b)
    mu = b + s_arr
    mu_r = b + _s_ref(n, b, reference)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = (s_arr - (mu_r - b)) / mu_r
        poisson_part = np.where(n > 0, n * (x - np.log1p(x)), 0.0)
        out = 2.0 * ((mu_r - n) * x + poisson_part)
    bad = (mu < 0) | ((mu == 0) & (n > 0)) | np.isposinf(s_arr)
    return np.where(bad, np.inf, out)


def _profiled_mu_b(
    s: NDArray[np.float64], n: NDArray[np.float64], b: NDArray[np.float64], sb: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Profiled total expectation mu = b' + s and background b' for sigma_b > 0 [events].

    Minimising ``2 (mu - n ln mu) + (b' - b)^2 / sigma_b^2`` over b' gives (d/db' = 0, times mu)

        mu^2 + (sigma_b^2 - b - s) mu - n sigma_b^2 = 0,

    whose product of roots is ``-n sigma_b^2 <= 0``: exactly one root ``mu >= 0``. It is taken in the
    cancellation-free form, and ``b'`` is then clipped to the physical region ``b' >= 0`` (the
    objective is convex in b', so the constrained minimum is the clipped root).
    """
    B = b + s - sb**2
    root = np.hypot(B, 2.0 * sb * np.sqrt(n))  # sqrt(B^2 + 4 n sigma_b^2), no overflow
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(B >= 0, 0.5 * (B + root), 2.0 * n * sb**2 / (root - B))
    b_prof = np.maximum(mu - s, 0.0)
    return b_prof + s, b_prof


def delta_chi2_profiled(
    s: ArrayLike,
    n_obs: ArrayLike,
    background: ArrayLike,
    sigma_b: ArrayLike,
    reference: Reference = "background_only",
) -> NDArray[np.float64]:
    """Delta chi^2 with a Gaussian background uncertainty profiled out.

    Likelihood ``Poisson(n | b' + s) x Gauss(b' | b, sigma_b)``; with
    ``Q(s) = min_{b' >= 0} [2 (b' + s - n ln(b' + s)) + (b' - b)^2 / sigma_b^2]`` (closed form, see
    :func:`_profiled_mu_b`), ``Delta chi^2(s) = Q(s) - Q(s_ref)`` with ``s_ref = 0``
    (``"background_only"``) or the joint one-sided best fit ``s_ref = max(n - b, 0)`` (``"best_fit"``;
    there b' = b). Where ``sigma_b == 0`` the result is exactly :func:`delta_chi2`.

    Parameters
    ----------
    s, n_obs, background, reference
        As in :func:`delta_chi2` [events].
    sigma_b : array_like
        Gaussian standard deviation of the background [events], >= 0.

    Returns
    -------
    ndarray
        Profiled Delta chi^2 (dimensionless). Finite for any finite ``s`` when ``sigma_b > 0``
        (the background can move to keep ``b' + s > 0``).

    Examples
    --------
    >>> float(delta_chi2_profiled(30.0, 158, 144, 0.0)) == float(delta_chi2(30.0, 158, 144))
    True
    >>> delta_chi2_profiled([30.0, 30.0], 158, 144, [0.0, 12.0]).round(4)   # 12 ~ sqrt(b)
    array([0.1995, 0.1725])
    """
    _check_reference(reference)
    s_arr = _as_float_array(s, "s")
    n, b, sb = _check_inputs(n_obs, background, sigma_b)
    s_arr, n, b, sb = np.broadcast_arrays(s_arr, n, b, sb)
    plain = delta_chi2(s_arr, n, b, reference)
    s_r = _s_ref(n, b, reference)
    mu, bp = _profiled_mu_b(s_arr, n, b, sb)
    mu_r, bp_r = _profiled_mu_b(s_r, n, b, sb)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        prof = 2.0 * ((mu - mu_r) - xlogy(n, mu / mu_r)) + ((bp - b) ** 2 - (bp_r - b) ** 2) / sb**2
    prof = np.where(np.isposinf(s_arr), np.inf, prof)
    return np.where(sb == 0, plain, prof)


def delta_chi2_threshold(cl: float) -> float:
    """Wilks threshold ``chi2.ppf(cl, df=1)`` on Delta chi^2 for confidence level ``cl``.

    This is the convention of the paper and physics.md section 4 (2.706 at 90% CL).

    >>> f"{delta_chi2_threshold(0.9):.5f}", f"{delta_chi2_threshold(0.95):.4f}"
    ('2.70554', '3.8415')
    """
    cl_f = float(cl)
    if not 0.0 < cl_f < 1.0:  # also rejects NaN
        raise ValueError(f"cl must satisfy 0 < cl < 1, got {cl!r}")
    # chi2 with one dof is a squared unit normal (scipy.stats would cost every job ~0.5 s of imports)
    return float(ndtri(0.5 * (1.0 + cl_f)) ** 2)


# --- limits ------------------------------------------------------------------------------------------
def signal_upper_limit(
    n_obs: ArrayLike,
    background: ArrayLike,
    cl: float = 0.9,
    reference: Reference = "background_only",
    sigma_b: ArrayLike = 0.0,
) -> NDArray[np.float64] | float:
    """Upper limit N_lim on new-physics events at confidence level ``cl`` (physics.md section 4).

    N_lim is the root ``s > s_ref`` of ``Delta chi^2(s) = chi2.ppf(cl, 1)``, found with :func:`brentq`
    (``xtol = 1e-10`` events; scipy's algorithm without importing scipy.optimize). Delta chi^2 is convex in
    ``s`` with its minimum at ``max(n - b, 0)`` and grows like ``2 s`` for large ``s``, so the root exists
    and is unique. Uses :func:`delta_chi2_profiled` where ``sigma_b > 0``.

    Parameters
    ----------
    n_obs, background : array_like
        Observed and expected background events (broadcast together).
    cl : float
        Confidence level, 0 < cl < 1.
    reference : {"background_only", "best_fit"}
        Reference hypothesis (physics.md section 7).
    sigma_b : array_like
        Gaussian background uncertainty [events], profiled; 0 (default) for none.

    Returns
    -------
    float or ndarray
        N_lim [events]; a float for scalar inputs.

    Examples
    --------
    >>> signal_upper_limit(0, 2.16) == delta_chi2_threshold(0.9) / 2     # n = 0: closed form
    True
    >>> signal_upper_limit([1, 37], [2.16, 38.3]).round(3)               # PandaX S1+S2, XENONnT
    array([2.011, 9.724])
    """
    _check_reference(reference)
    t = delta_chi2_threshold(cl)
    n, b, sb = _check_inputs(n_obs, background, sigma_b)
    n, b, sb = np.broadcast_arrays(n, b, sb)
    out = np.empty(n.shape)
    for idx in np.ndindex(n.shape):
        ni, bi, si = float(n[idx]), float(b[idx]), float(sb[idx])
        if ni == 0 and si == 0:
            out[idx] = 0.5 * t  # Delta chi^2 = 2 s exactly
            continue

        def f(s: float, ni: float = ni, bi: float = bi, si: float = si) -> float:
            return float(delta_chi2_profiled(s, ni, bi, si, reference)) - t

        lo = max(ni - bi, 0.0)  # f(lo) <= -t < 0 (minimum of the convex Delta chi^2)
        hi = lo + t + 2.0 * np.sqrt(t * (ni + bi + si**2)) + 1.0
        while f(hi) <= 0:
            hi = 2.0 * hi
        out[idx] = brentq(f, lo, hi, xtol=1e-10)
    return _scalar_or_array(out)


_RTOL = 4.0 * np.finfo(float).eps


def brentq(f, xa: float, xb: float, xtol: float = 2e-12, rtol: float = _RTOL, maxiter: int = 100) -> float:
    """Root of ``f`` between ``xa`` and ``xb`` (where f has opposite signs) by Brent's method, step for step
    the algorithm of :func:`scipy.optimize.brentq` (same defaults), so the root is the same to the last bit
    (tested): importing scipy.optimize costs every job that sets a one-bin limit ~0.2 s. Raises when the
    bracket does not hold a sign change or ``maxiter`` steps do not converge.

    >>> abs(brentq(lambda x: x * x - 2.0, 0.0, 2.0) - 2.0**0.5) < 1e-12
    True
    """
    xpre, xcur = float(xa), float(xb)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre * fcur > 0:
        raise ValueError(f"f({xpre}) = {fpre} and f({xcur}) = {fcur} have the same sign: no bracketed root")
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        if fpre * fcur < 0:  # the product, as scipy has it (it underflows to 0 for tiny |f|: no update)
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):  # the best estimate is the one with the smaller |f|
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # secant
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # inverse quadratic interpolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):  # a good short step
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise RuntimeError(f"brentq: no convergence in {maxiter} steps between {xa} and {xb}")


def coupling_limit(a: ArrayLike, b2: ArrayLike, n_lim: ArrayLike) -> NDArray[np.float64] | float:
    """Coupling-product limit G from ``N_BSM(G) = a G + b2 G^2 = n_lim`` (physics.md section 4).

    ``G`` is the coupling product (``g_nu g_phi`` etc.); ``a`` and ``b2`` are the BSM event counts
    per unit ``G`` and ``G^2`` at one mediator mass (scalars: ``a = 0``; vector: ``a`` is the SM
    interference term, ``a > 0`` constructive for ``G > 0``; for ``G < 0`` pass ``-a``).
    Since ``b2 > 0`` and ``n_lim > 0`` the roots have product ``-n_lim / b2 < 0``: there is exactly
    one positive root, returned here, computed without cancellation as
    ``2 n_lim / (a + sqrt(a^2 + 4 b2 n_lim))`` for ``a >= 0`` and
    ``(-a + sqrt(a^2 + 4 b2 n_lim)) / (2 b2)`` for ``a < 0``.

    Every ``G`` above the returned value has ``N_BSM > n_lim`` and is excluded. For destructive
    interference (``a < 0``) the returned root is the upper edge of the region that the
    ``N_BSM > n_lim`` criterion does *not* exclude; below it ``N_BSM`` is negative for
    ``0 < G < -a / b2``, and a deficit can exclude part of that band too, so the excluded set is not
    a simple upper limit: use :func:`delta_chi2_map` for the full picture.

    Parameters
    ----------
    a : array_like
        Linear (interference) coefficient [events / G], any sign; e.g. one entry per mediator mass.
    b2 : array_like
        Quadratic coefficient [events / G^2], > 0.
    n_lim : array_like
        Event-count limit [events], > 0 (e.g. from :func:`signal_upper_limit`).

    Returns
    -------
    float or ndarray
        The positive root G [units of the coupling product], broadcast shape.

    Examples
    --------
    >>> float(coupling_limit(0.0, 4.0, 1.0))              # scalar case: sqrt(n_lim / b2)
    0.5
    >>> coupling_limit([3.0, -3.0], 2.0, 2.0)             # 2 G^2 +- 3 G - 2 = 0
    array([0.5, 2. ])
    """
    a_arr = _as_float_array(a, "a")
    b2_arr = _as_float_array(b2, "b2")
    n_arr = _as_float_array(n_lim, "n_lim")
    if not np.isfinite(a_arr).all():
        raise ValueError(f"a must be finite, got {a!r}")
    if (b2_arr <= 0).any() or not np.isfinite(b2_arr).all():
        raise ValueError(f"b2 must be finite and > 0, got {b2!r}")
    if (n_arr <= 0).any() or not np.isfinite(n_arr).all():
        raise ValueError(f"n_lim must be finite and > 0, got {n_lim!r}")
    a_arr, b2_arr, n_arr = np.broadcast_arrays(a_arr, b2_arr, n_arr)
    disc = np.hypot(a_arr, 2.0 * np.sqrt(b2_arr * n_arr))  # sqrt(a^2 + 4 b2 n), > |a|
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(a_arr >= 0, 2.0 * n_arr / (a_arr + disc), (disc - a_arr) / (2.0 * b2_arr))
    return _scalar_or_array(g)


def delta_chi2_map(
    n_bsm: ArrayLike,
    n_obs: ArrayLike,
    background: ArrayLike,
    reference: Reference = "background_only",
    sigma_b: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Delta chi^2 on a grid of BSM event counts, e.g. shape ``(n_mass, n_coupling)``.

    Simply :func:`delta_chi2` (or :func:`delta_chi2_profiled` where ``sigma_b > 0``) with
    ``s = n_bsm``. ``n_bsm`` may be negative (destructive interference); without a background
    uncertainty, points with ``b + N_BSM < 0`` (or ``= 0`` with ``n_obs > 0``) get ``+inf``, i.e.
    they are excluded. A point is excluded at level ``cl`` where the map exceeds
    ``delta_chi2_threshold(cl)``.

    >>> delta_chi2_map([[-200.0, 0.0, 40.6]], 158, 144).round(2)
    array([[ inf, 0.  , 2.71]])
    """
    return delta_chi2_profiled(n_bsm, n_obs, background, sigma_b, reference)


# --- Poisson helpers without scipy.stats (whose import costs every Snakemake job ~0.5 s) -----------------
def poisson_logpmf(k: ArrayLike, mu: ArrayLike) -> NDArray[np.float64]:
    """ln P(k | mu), as scipy.stats.poisson.logpmf (xlogy(k, mu) - ln k! - mu)."""
    k = np.asarray(k, dtype=float)
    return xlogy(k, mu) - gammaln(k + 1.0) - mu


def poisson_ppf(q: ArrayLike, mu: ArrayLike) -> NDArray[np.float64]:
    """Smallest k with P(N <= k | mu) >= q, as scipy.stats.poisson.ppf (same algorithm: pdtrik, then a
    one-step correction).

    >>> float(poisson_ppf(0.5, 2.16)), float(poisson_ppf(0.975, 144.0))
    (2.0, 168.0)
    """
    q, mu = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(mu, dtype=float))
    vals = np.ceil(pdtrik(q, mu))
    below = np.maximum(vals - 1.0, 0.0)
    return np.where(pdtr(below, mu) >= q, below, vals)
