"""Targets, isotopes, weak charges and nuclear form factors.

A :class:`Target` is a list of isotopes, each with its count per formula unit (the natural
abundance for an element such as Xe; 1 Cs + 1 I for CsI) and the formula unit's molar mass, so a
detector mass converts to numbers of nuclei in one place.

References: Lewin & Smith, Astropart. Phys. 6 (1996) 87 (Helm parameters);
Klein & Nystrand, PRC 60 (1999) 014903; physics.md section 2.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nufog import units as u

__all__ = [
    "Isotope",
    "Target",
    "csi",
    "helm_form_factor",
    "klein_nystrand_form_factor",
    "form_factor",
    "vector_charge",
    "nsi_charge",
    "weak_charge",
    "FORM_FACTORS",
]


@dataclass(frozen=True)
class Isotope:
    """A nucleus. ``count`` is the number per formula unit of the target (abundance for Xe)."""

    A: int
    Z: int
    count: float
    mass_MeV: float

    @property
    def N(self) -> int:
        return self.A - self.Z

    @classmethod
    def from_atomic_mass(cls, A: int, Z: int, count: float, atomic_mass_u: float) -> Isotope:
        """Nuclear mass = atomic mass - Z m_e (electron binding, < 1e-5 relative, neglected)."""
        return cls(int(A), int(Z), float(count), atomic_mass_u * u.AMU_MEV - Z * u.M_E)


@dataclass(frozen=True)
class Target:
    """A detector material: isotopes and the molar mass of one formula unit [g/mol]."""

    name: str
    isotopes: tuple[Isotope, ...]
    molar_mass_g: float

    def __post_init__(self) -> None:
        if not self.isotopes:
            raise ValueError(f"target {self.name!r} has no isotopes")
        if not self.molar_mass_g > 0:
            raise ValueError(f"target {self.name!r}: molar mass must be positive")

    @property
    def formula_units_per_tonne(self) -> float:
        return u.targets_per_tonne(self.molar_mass_g)

    def nuclei_per_tonne(self) -> np.ndarray:
        """Number of nuclei of each isotope in one tonne of target."""
        return np.array([iso.count for iso in self.isotopes]) * self.formula_units_per_tonne


def csi() -> Target:
    """CsI: one 133Cs and one 127I per formula unit (both mono-isotopic); masses from AME.

    >>> t = csi()
    >>> [i.A for i in t.isotopes], round(t.molar_mass_g, 2)
    ([133, 127], 259.81)
    """
    cs = Isotope.from_atomic_mass(133, 55, 1.0, 132.905452)
    iodine = Isotope.from_atomic_mass(127, 53, 1.0, 126.904473)
    return Target("CsI", (cs, iodine), 132.905452 + 126.904473)


# --- charges -------------------------------------------------------------------------------------


def vector_charge(Z: int, N: int, sin2_theta_w: float = u.SIN2_THETA_W) -> float:
    """SM vector charge Q_V = g_V^p Z + g_V^n N, g_V^p = 1/2 - 2 s_W^2, g_V^n = -1/2 (Eq. 2).

    >>> round(vector_charge(54, 78), 4)
    -37.7656
    """
    return (0.5 - 2.0 * sin2_theta_w) * Z - 0.5 * N


def nsi_charge(Z: int, N: int, eps_u: np.ndarray, eps_d: np.ndarray) -> np.ndarray:
    """Vector charge with vector NSI: Q = (g_V^p + 2 eps^u + eps^d) Z + (g_V^n + eps^u + 2 eps^d) N.

    >>> round(float(nsi_charge(55, 78, 0.0, 0.0)), 3) == round(vector_charge(55, 78), 3)
    True
    """
    eu, ed = np.asarray(eps_u, dtype=float), np.asarray(eps_d, dtype=float)
    return vector_charge(Z, N) + eu * (2 * Z + N) + ed * (Z + 2 * N)


def weak_charge(Z: int, N: int, sin2_theta_w: float = u.SIN2_THETA_W) -> float:
    """Tree-level weak charge Q_W = N - (1 - 4 s_W^2) Z = -2 Q_V."""
    return N - (1.0 - 4.0 * sin2_theta_w) * Z


# --- form factors --------------------------------------------------------------------------------


def _spherical_j1_over_x(x: np.ndarray) -> np.ndarray:
    """3 j_1(x)/x, with its series near 0 (the direct formula loses digits below x ~ 1e-3)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    xs = np.where(small, 1.0, x)
    direct = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    series = 1.0 - x**2 / 10.0 + x**4 / 280.0
    return np.where(small, series, direct)


def helm_form_factor(q_MeV: np.ndarray, A: int) -> np.ndarray:
    """Helm form factor with the Lewin-Smith parameters (s = 0.9 fm, a = 0.52 fm).

        c = 1.23 A^(1/3) - 0.60 fm,  r_n^2 = c^2 + 7/3 pi^2 a^2 - 5 s^2,
        F(q) = 3 j_1(q r_n)/(q r_n) exp(-(q s)^2 / 2)

    >>> float(helm_form_factor(np.array(0.0), 132))
    1.0
    """
    s, a = 0.9 * u.FM, 0.52 * u.FM
    c = (1.23 * A ** (1.0 / 3.0) - 0.60) * u.FM
    r_n = np.sqrt(c**2 + 7.0 / 3.0 * np.pi**2 * a**2 - 5.0 * s**2)
    q = np.asarray(q_MeV, dtype=float)
    return _spherical_j1_over_x(q * r_n) * np.exp(-((q * s) ** 2) / 2.0)


def klein_nystrand_form_factor(q_MeV: np.ndarray, A: int) -> np.ndarray:
    """Klein-Nystrand form factor: hard sphere R_A = 1.2 A^(1/3) fm folded with a Yukawa a_k = 0.7 fm.

        F(q) = 3 j_1(q R_A)/(q R_A) / (1 + q^2 a_k^2)

    >>> float(klein_nystrand_form_factor(np.array(0.0), 133))
    1.0
    """
    r_a = 1.2 * A ** (1.0 / 3.0) * u.FM
    a_k = 0.7 * u.FM
    q = np.asarray(q_MeV, dtype=float)
    return _spherical_j1_over_x(q * r_a) / (1.0 + (q * a_k) ** 2)


FORM_FACTORS = {"helm": helm_form_factor, "klein_nystrand": klein_nystrand_form_factor}


def form_factor(name: str, q_MeV: np.ndarray, A: int) -> np.ndarray:
    """Form factor by name (``helm`` or ``klein_nystrand``)."""
    try:
        fn = FORM_FACTORS[name]
    except KeyError:
        raise ValueError(f"form factor must be one of {sorted(FORM_FACTORS)}, got {name!r}") from None
    return fn(q_MeV, A)


def momentum_transfer(e_r_MeV: np.ndarray, mass_MeV: float) -> np.ndarray:
    """q = sqrt(2 M E_R) [MeV]."""
    return np.sqrt(2.0 * mass_MeV * np.asarray(e_r_MeV, dtype=float))
