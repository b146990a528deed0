"""COHERENT CsI[Na] 2021 detector response: quenching, light yield and gamma PE resolution, the energy
efficiency with its nuisance, the timing efficiency (physics.md section 5; :mod:`nufog.coherent_model`
describes how they enter the binned model).

- Quenching: the polynomial E_ee[MeV] = a x + b x^2 + c x^3 + d x^4, x = E_nr [MeV], of
  ``scintRespCoefficients.txt`` (nominal row).
- Resolution: P(x|E) = (a(1+b))^(1+b)/Gamma(1+b) x^b exp(-a(1+b)x), a = 1/(LY E_ee) (= 0.0749/E_ee[keV]
  for LY = 13.35 PE/keV_ee), b = 9.56 E_ee[keV], integrated exactly over PE bins (regularised
  incomplete gamma differences).
- eps_E(x) = a/(1 + exp(-b (x - c))) + d, clipped at 0, averaged analytically over each fine PE bin
  (:meth:`EnergyEfficiency.bin_average`; this keeps the likelihood differentiable in the efficiency
  nuisance, which a midpoint rule does not). The nuisance alpha interpolates the coefficients (fully
  correlated) quadratically through the nominal (alpha = 0) and +-1 sigma rows of ``effCoefficients.txt``
  (alpha = +-1): c(alpha) = c0 + alpha (c+ - c-)/2 + alpha^2 (c+ + c- - 2 c0)/2; it is smooth and the
  quadratic term is tiny because the release's rows are nearly symmetric. (The file labels both syst rows
  "+1 sigma"; the second, with the higher threshold c, is the -1 sigma row.)
- eps_T(t) = 1 for t < 0.52 us, exp(-0.0494/us (t - 0.52 us)) after (the parametrisation of the COHERENT
  CsI data releases, as used by third-party fits of the 2021 data; it is not in our copy of the release).

Every method accepts an array of nuisance values (a batch of fits) as well as a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

from nufog import units as u
from nufog.sns import HistogramProfile

__all__ = ["CsIResponse", "EnergyEfficiency", "TimingEfficiency", "rebin_matrix"]


@dataclass(frozen=True)
class CsIResponse:
    """Quenching, light yield and gamma PE resolution of the CsI[Na] detector.

    Parameters
    ----------
    qf_coefficients
        (a, b, c, d) of E_ee[MeV_ee] = a x + b x^2 + c x^3 + d x^4, x = E_nr [MeV_nr].
    light_yield_pe_per_keVee
        13.35 PE/keV_ee (release SupMat).
    res_b_per_keVee
        b = 9.56 E_ee[keV]: shape parameter of the gamma resolution.
    """

    qf_coefficients: tuple[float, float, float, float]
    light_yield_pe_per_keVee: float = 13.35
    res_b_per_keVee: float = 9.56

    def __post_init__(self) -> None:
        if len(self.qf_coefficients) != 4:
            raise ValueError("qf_coefficients must hold four numbers (a, b, c, d)")
        if not (self.light_yield_pe_per_keVee > 0 and self.res_b_per_keVee > 0):
            raise ValueError("light yield and resolution parameter must be positive")

    def e_ee_keV(self, e_nr_keV: np.ndarray) -> np.ndarray:
        """Electron-equivalent energy [keV_ee] of a nuclear recoil [keV_nr] (clipped at 0)."""
        x = np.asarray(e_nr_keV, dtype=float) * u.keV
        a, b, c, d = self.qf_coefficients
        return np.clip((a * x + b * x**2 + c * x**3 + d * x**4) / u.keV, 0.0, None)

    def pe_probabilities(self, e_nr_keV: np.ndarray, pe_edges: np.ndarray) -> np.ndarray:
        """P(PE in [pe_edges_k, pe_edges_k+1) | E_nr), shape (n_bins, n_E).

        Gamma distribution with shape 1 + b and rate a (1 + b), a = 1/(LY E_ee), b = 9.56 E_ee[keV]:
        mean LY E_ee, variance LY^2 E_ee^2 / (1 + b). CDF = regularised lower incomplete gamma.
        """
        e_ee = np.maximum(self.e_ee_keV(e_nr_keV), 1e-9)
        edges = np.asarray(pe_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
            raise ValueError("pe_edges must be a non-negative increasing 1-d array")
        shape = 1.0 + self.res_b_per_keVee * e_ee
        rate = shape / (self.light_yield_pe_per_keVee * e_ee)
        cdf = gammainc(shape[None, :], rate[None, :] * edges[:, None])
        return np.diff(cdf, axis=0)


@dataclass(frozen=True)
class EnergyEfficiency:
    """eps_E(x) = a / (1 + exp(-b (x - c))) + d, x in PE, clipped to [0, 1], with a nuisance alpha.

    Coefficients interpolate quadratically through the nominal (alpha = 0), +1 sigma (alpha = 1) and
    -1 sigma (alpha = -1) rows (module docstring).
    """

    nominal: tuple[float, float, float, float]
    plus: tuple[float, float, float, float]
    minus: tuple[float, float, float, float]

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> EnergyEfficiency:
        rows = np.asarray(rows, dtype=float)
        if rows.shape != (3, 4):
            raise ValueError(f"need 3 coefficient rows (nominal, +1, -1 sigma) of 4 numbers, got {rows.shape}")
        return cls(*(tuple(float(v) for v in r) for r in rows))

    def __post_init__(self) -> None:
        c0, cp, cm = (np.asarray(v, dtype=float) for v in (self.nominal, self.plus, self.minus))
        object.__setattr__(self, "_poly", (c0, 0.5 * (cp - cm), 0.5 * (cp + cm - 2.0 * c0)))

    def coefficients(self, alpha: float | np.ndarray = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (a, b, c, d) at alpha and their derivative d/d alpha: shape alpha.shape + (4,)."""
        c0, lin, quad = self._poly
        al = np.asarray(alpha, dtype=float)[..., None]
        return c0 + al * lin + al**2 * quad, lin + 2.0 * al * quad

    def __call__(self, pe: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        return self.value_and_derivative(pe, alpha)[0]

    def value_and_derivative(self, pe: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """eps_E(x; alpha) and d eps_E / d alpha (zero where clipped), for a scalar alpha."""
        (a, b, c, d), (da, db, dc, dd) = self.coefficients(float(alpha))
        x = np.asarray(pe, dtype=float)
        s = 1.0 / (1.0 + np.exp(-b * (x - c)))
        val = a * s + d
        ds = s * (1.0 - s)  # d s / d(b (x - c))
        der = da * s + a * ds * (db * (x - c) - b * dc) + dd
        inside = (val > 0.0) & (val < 1.0)
        return np.clip(val, 0.0, 1.0), np.where(inside, der, 0.0)

    def bin_average(self, edges: np.ndarray, alpha: float | np.ndarray = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Average of max(eps_E, 0) over each PE bin [x_k, x_k+1), and its derivative in alpha.

        Shape alpha.shape + (n_bins,). Closed form with the antiderivative
        F(x) = (a/b) ln(1 + e^{b(x - c)}) + d x, integrated from max(x_k, x_0) where
        x_0 = c - ln(a/(-d) - 1)/b is the zero crossing. Because eps_E(x_0) = 0 the moving lower limit
        adds nothing to the derivative: the average is C1 in alpha. (A midpoint rule has slope jumps
        whenever x_0 passes a bin centre, which gives the profiled likelihood spurious local minima in
        alpha_eff.) Capped at 1 (never reached: a + d < 1 within the bounds).
        """
        coef, dcoef = self.coefficients(alpha)
        a, b, c, d = (coef[..., i, None] for i in range(4))
        e = np.asarray(edges, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = c - np.log(a / -d - 1.0) / b
        x0 = np.where((d < 0.0) & (a + d > 0.0), crossing, np.where(d >= 0.0, -np.inf, np.inf))
        lo_moved = e[:-1] < x0  # only the bin holding the zero crossing starts at x0

        def parts(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
            z = b * (x - c)
            sp = np.logaddexp(0.0, z)  # ln(1 + e^z), overflow-free
            sig = 0.5 * (1.0 + np.tanh(0.5 * z))
            f = a / b * sp + d * x
            # dF/d(a, b, c, d)
            grads = (sp / b, -a / b**2 * sp + a / b * sig * (x - c), -a * sig, x + 0.0 * z)
            return f, grads

        f_e, g_e = parts(e)  # F at every edge, computed once
        x0c = np.where(np.isfinite(x0), x0, 0.0)
        f_0, g_0 = parts(x0c)
        active = e[1:] > x0
        width = np.diff(e)
        f_lo = np.where(lo_moved, f_0, f_e[..., :-1])
        val = np.where(active, (f_e[..., 1:] - f_lo) / width, 0.0)
        dval = sum(
            dcoef[..., i, None] * (g_e[i][..., 1:] - np.where(lo_moved, g_0[i], g_e[i][..., :-1])) for i in range(4)
        )
        der = np.where(active, dval / width, 0.0)
        capped = val > 1.0
        return np.where(capped, 1.0, val), np.where(capped, 0.0, der)


@dataclass(frozen=True)
class TimingEfficiency:
    """eps_T(t) = 1 for t < knee, exp(-rate (t - knee)) after (module docstring)."""

    knee_us: float = 0.52
    rate_per_us: float = 0.0494

    def __post_init__(self) -> None:
        if not (np.isfinite(self.knee_us) and self.rate_per_us >= 0):
            raise ValueError("timing efficiency needs a finite knee and a non-negative rate")

    def __call__(self, t_us: np.ndarray) -> np.ndarray:
        t = np.asarray(t_us, dtype=float)
        return np.where(t < self.knee_us, 1.0, np.exp(-self.rate_per_us * (t - self.knee_us)))

    def bin_integrals(self, edges_us: np.ndarray) -> np.ndarray:
        """integral of eps_T over each bin [us]."""
        flat = HistogramProfile(np.array([edges_us[0] - 1.0, edges_us[-1] + 1.0]), np.array([1.0]))
        scale = edges_us[-1] - edges_us[0] + 2.0  # flat density 1/scale
        return flat.window_integrals(edges_us, 0.0, self.knee_us, self.rate_per_us)[0] * scale


def rebin_matrix(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Fraction of each source bin inside each destination bin (uniform within a bin): (n_dst, n_src)."""
    lo = np.maximum(dst_edges[:-1, None], src_edges[None, :-1])
    hi = np.minimum(dst_edges[1:, None], src_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(src_edges)[None, :]
