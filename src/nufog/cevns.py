"""Coherent elastic neutrino-nucleus scattering (paper Eqs. 1-4, physics.md section 2.1).

    dsigma/dE_R = G_F^2 M / pi  Q_V^2 (1 - M E_R / (2 E_nu^2)) F^2(q),   q = sqrt(2 M E_R)
    dR/dE_R     = sum_isotopes N_i sum_fluxes integral_{E_min}^{E_max} dE_nu dPhi/dE_nu dsigma/dE_R
    E_min       = sqrt(M E_R / 2)

Because the cross section is a polynomial in 1/E_nu, the flux integral reduces to two flux
moments above E_min (powers 0 and 2). :class:`RecoilKernel` tabulates them once per
(target, flux, energy grid); the SM rate and every light-mediator rate (module
:mod:`nufog.mediators`) are then closed-form functions of the kernel, with no further integration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nufog import units as u
from nufog.nuclei import Target, form_factor, momentum_transfer, vector_charge
from nufog.solar import FluxComponent

__all__ = [
    "e_nu_min",
    "e_r_max",
    "dsigma_dER",
    "RecoilKernel",
    "differential_rate",
]


def e_nu_min(e_r_MeV: np.ndarray, mass_MeV: float) -> np.ndarray:
    """Minimum neutrino energy giving recoil E_R (Eq. 4), sqrt(M E_R / 2), non-relativistic.

    >>> round(float(e_nu_min(np.array(1e-3), 122_000.0)), 4)   # 1 keV on M = 122 GeV
    7.8102
    """
    return np.sqrt(_positive(mass_MeV, "mass_MeV") * _energy(e_r_MeV, "e_r_MeV") / 2.0)


def e_r_max(e_nu_MeV: np.ndarray, mass_MeV: float) -> np.ndarray:
    """Maximum recoil energy 2 E_nu^2 / M (inverse of :func:`e_nu_min`)."""
    return 2.0 * _energy(e_nu_MeV, "e_nu_MeV") ** 2 / _positive(mass_MeV, "mass_MeV")


def _energy(x: np.ndarray | float, name: str) -> np.ndarray:
    """``x`` as floats; ValueError naming ``name`` unless all finite and >= 0 (a negative energy
    gave NaN and a NaN neutrino energy gave a cross section of 0)."""
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0 [MeV]")
    return a


def _positive(x: np.ndarray | float, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0 [MeV]")
    return a


def dsigma_dER(
    e_r_MeV: np.ndarray,
    e_nu_MeV: np.ndarray,
    Z: int,
    N: int,
    mass_MeV: float,
    ff: str = "helm",
    charge: float | None = None,
) -> np.ndarray:
    """SM CEvNS differential cross section [cm^2 / MeV], zero above the kinematic endpoint.

    ``charge`` replaces Q_V (e.g. with NSI); default is the SM :func:`nufog.nuclei.vector_charge`.
    """
    e_r = _energy(e_r_MeV, "e_r_MeV")
    e_nu = _positive(e_nu_MeV, "e_nu_MeV")
    mass_MeV = float(_positive(mass_MeV, "mass_MeV"))
    q_v = vector_charge(Z, N) if charge is None else charge
    kin = 1.0 - mass_MeV * e_r / (2.0 * e_nu**2)
    f2 = form_factor(ff, momentum_transfer(e_r, mass_MeV), Z + N) ** 2
    xs = u.G_F**2 * mass_MeV / np.pi * q_v**2 * kin * f2 * u.MEV2_TO_CM2
    return np.where(kin > 0, xs, 0.0)


@dataclass(frozen=True, eq=False)
class RecoilKernel:
    """Flux moments and form factors of one target on one recoil-energy grid.

    Attributes
    ----------
    e_r_MeV
        Recoil energies, shape (n_E,).
    target
        The target; isotope i has mass M_i, charges Z_i, N_i.
    components
        Names of the flux components, axis 0 of the moments.
    m0, m2
        integral_{E_min(E_R, M_i)} Phi E_nu^0 and Phi E_nu^-2, shape (n_comp, n_iso, n_E)
        [cm^-2 s^-1 and cm^-2 s^-1 MeV^-2].
    ff2
        F^2(q), shape (n_iso, n_E).
    norm
        Nuclei of each isotope per tonne times seconds per year times MeV per keV, shape (n_iso,):
        turns a cross section in cm^2/MeV times a flux into events per tonne-year per keV.
    """

    e_r_MeV: np.ndarray
    target: Target
    components: tuple[str, ...]
    m0: np.ndarray
    m2: np.ndarray
    ff2: np.ndarray
    norm: np.ndarray

    @classmethod
    def build(
        cls,
        e_r_keV: np.ndarray,
        target: Target,
        components: list[FluxComponent] | tuple[FluxComponent, ...],
        ff: str = "helm",
    ) -> RecoilKernel:
        """Tabulate the kernel (the only step that touches the flux tables)."""
        e_r_keV = np.asarray(e_r_keV, dtype=float)
        if e_r_keV.ndim != 1 or e_r_keV.size == 0 or np.any(~np.isfinite(e_r_keV)):
            raise ValueError("recoil energy grid must be a non-empty 1-d array of finite values")
        if np.any(e_r_keV <= 0):
            raise ValueError("recoil energies must be positive [keV]")
        if np.any(np.diff(e_r_keV) <= 0):
            raise ValueError("recoil energy grid e_r_keV must increase strictly (sort it)")
        if len(components) == 0:
            raise ValueError("no flux components: check solar.components in the config")
        e_r = e_r_keV * u.keV
        masses = np.array([iso.mass_MeV for iso in target.isotopes])
        e_min = e_nu_min(e_r[None, :], masses[:, None])  # (n_iso, n_E)
        moments = np.array([c.tail_moments(e_min, powers=(0, 2)) for c in components])
        ff2 = np.array([form_factor(ff, momentum_transfer(e_r, iso.mass_MeV), iso.A) ** 2 for iso in target.isotopes])
        norm = target.nuclei_per_tonne() * u.SECONDS_PER_YEAR * u.keV
        return cls(e_r, target, tuple(c.name for c in components), moments[:, 0], moments[:, 1], ff2, norm)

    @property
    def masses_MeV(self) -> np.ndarray:
        return np.array([iso.mass_MeV for iso in self.target.isotopes])

    @property
    def mass_numbers(self) -> np.ndarray:
        return np.array([iso.A for iso in self.target.isotopes])

    def sm_charges(self) -> np.ndarray:
        """Q_V of each isotope."""
        return np.array([vector_charge(iso.Z, iso.N) for iso in self.target.isotopes])

    def rate_per_isotope(self, charges: np.ndarray | None = None) -> np.ndarray:
        """dR/dE_R [events / (t yr keV_nr)] per (component, isotope, E_R), vector-like charge.

        ``charges`` (broadcastable to (n_iso, n_E)) replaces Q_V: an energy-dependent effective
        charge is how a vector mediator enters (Eq. 19).
        """
        q_v = self.sm_charges()[:, None] if charges is None else np.asarray(charges)
        m = self.masses_MeV[:, None]
        flux_term = self.m0 - m * self.e_r_MeV / 2.0 * self.m2  # integral Phi (1 - M E_R/2E^2)
        xs = u.G_F**2 * m / np.pi * q_v**2 * self.ff2 * u.MEV2_TO_CM2
        return np.clip(flux_term, 0.0, None) * xs * self.norm[:, None]

    def sm_rate(self) -> dict[str, np.ndarray]:
        """SM dR/dE_R per flux component and ``total`` [events / (t yr keV_nr)]."""
        per = self.rate_per_isotope().sum(axis=1)
        out = {name: per[i] for i, name in enumerate(self.components)}
        out["total"] = per.sum(axis=0)
        return out


def differential_rate(
    e_r_keV: np.ndarray,
    target: Target,
    components: list[FluxComponent] | tuple[FluxComponent, ...],
    ff: str = "helm",
) -> dict[str, np.ndarray]:
    """SM CEvNS dR/dE_R [events / (t yr keV_nr)] per flux component, plus ``total``."""
    return RecoilKernel.build(e_r_keV, target, components, ff).sm_rate()
