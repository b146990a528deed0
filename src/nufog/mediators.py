"""Light mediators: one abstraction for every model (paper Eqs. 12-19, physics.md section 3).

For each model, the new-physics rate at mediator mass m is a polynomial in the scanned coupling
product G (g_nu g_q or g_nu g_e):

    dR_BSM/dE (m, G) = G * L(E; m) + G^2 * Q(E; m)

- scalar coupled to quarks (universal or Higgs-like) -- no interference, L = 0:
      dsigma/dE_R = G^2 q_phi^2 M^2 E_R F^2 / (4 pi E_nu^2 (2 M E_R + m^2)^2)
  with q_phi the nuclear scalar charge per unit quark coupling (Eq. 15);
- vector coupled universally to quarks -- interferes with the SM:
      Q_V -> Q_V + G dQ,  dQ = 3 A / (sqrt(2) G_F (2 M E_R + m^2)),
  so L = 2 Q_V dQ S and Q = dQ^2 S with S the SM rate for unit charge; G < 0 interferes
  constructively (Q_V < 0);
- leptophilic scalar on electrons (added to nu-e scattering, flavour-blind):
      dsigma/dT = G^2 m_e^2 T Z_eff(T) / (4 pi E_nu^2 (2 m_e T + m^2)^2).

Folding L and Q with an efficiency gives the coefficients (a, b) of N_BSM = a G + b G^2, whose
root gives the coupling limit in closed form (:func:`nufog.stats.coupling_limit`).

The mediator masses are vectorised: every function takes an array ``m_med_MeV`` and returns
arrays with a leading mass axis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from nufog import units as u
from nufog.cevns import RecoilKernel
from nufog.electron import e_nu_min

__all__ = [
    "HadronicScalarCouplings",
    "Mediator",
    "MODELS",
    "get_model",
    "scalar_charge",
    "vector_charge_shift",
    "cevns_rate_terms",
    "electron_rate_terms",
    "ElectronKernel",
]


@dataclass(frozen=True)
class HadronicScalarCouplings:
    """Nucleon scalar form factors f_Tq^N (Hoferichter et al. 2015; physics.md section 1)."""

    f_Tu_p: float = 0.0208
    f_Td_p: float = 0.0411
    f_Tu_n: float = 0.0189
    f_Td_n: float = 0.0451
    f_Ts: float = 0.043

    def f_light(self, nucleon: str) -> dict[str, float]:
        if nucleon == "p":
            return {"u": self.f_Tu_p, "d": self.f_Td_p, "s": self.f_Ts}
        return {"u": self.f_Tu_n, "d": self.f_Td_n, "s": self.f_Ts}

    def f_TG(self, nucleon: str) -> float:
        """Gluon fraction f_TG = 1 - sum_{u,d,s} f_Tq."""
        return 1.0 - sum(self.f_light(nucleon).values())


def scalar_charge(
    Z: int, N: int, quark_couplings: str, hadronic: HadronicScalarCouplings = HadronicScalarCouplings()
) -> float:
    """Nuclear scalar charge per unit coupling, Q_phi / g_phi (Eq. 15).

        Q_phi = Z sum_q g_q (m_p/m_q) f_Tq^p + N sum_q g_q (m_n/m_q) f_Tq^n
                + (Z m_p + N m_n) (2/27) f_TG sum_{Q=c,b,t} g_Q / m_Q

    ``quark_couplings``: ``"universal"`` (g_q = g) or ``"higgs"`` (g_q = g m_q / v, Eq. 13).

    >>> round(scalar_charge(54, 78, "universal") / 132, 1)   # physics.md: ~17.8 per nucleon
    17.8
    >>> round(scalar_charge(54, 78, "higgs") / 132 * 1e3, 2)  # physics.md: ~1.16e-3 per nucleon
    1.16
    """
    heavy = ("c", "b", "t")
    total = 0.0
    for count, nucleon, m_nuc in ((Z, "p", u.M_P), (N, "n", u.M_N)):
        f = hadronic.f_light(nucleon)
        f_tg = hadronic.f_TG(nucleon)
        if quark_couplings == "universal":
            light = sum(m_nuc / u.QUARK_MASSES[q] * f[q] for q in f)
            gluon = m_nuc * 2.0 / 27.0 * f_tg * sum(1.0 / u.QUARK_MASSES[q] for q in heavy)
        elif quark_couplings == "higgs":
            # g_q/m_q = g/v for every quark: the quark masses cancel
            light = m_nuc / u.V_HIGGS * sum(f.values())
            gluon = m_nuc * 2.0 / 27.0 * f_tg * len(heavy) / u.V_HIGGS
        else:
            raise ValueError(f"quark_couplings must be 'universal' or 'higgs', got {quark_couplings!r}")
        total += count * (light + gluon)
    return total


def vector_charge_shift(A: int, mass_MeV: float, e_r_MeV: np.ndarray, m_med_MeV: np.ndarray) -> np.ndarray:
    """dQ per unit coupling product: 3 A / (sqrt(2) G_F (2 M E_R + m^2)) (Eq. 19).

    Broadcasts ``m_med_MeV[:, None]`` against ``e_r_MeV``: shape (n_mass, n_E).
    """
    q2 = 2.0 * mass_MeV * np.asarray(e_r_MeV)[None, :]
    return 3.0 * A / (np.sqrt(2.0) * u.G_F * (q2 + np.asarray(m_med_MeV)[:, None] ** 2))


@dataclass(frozen=True)
class Mediator:
    """A light-mediator model.

    Parameters
    ----------
    name
        Model key used in file names (``universal_scalar`` ...).
    spin
        ``"scalar"`` or ``"vector"``.
    target
        ``"nucleus"`` (CEvNS) or ``"electron"`` (nu-e scattering).
    quark_couplings
        ``"universal"`` or ``"higgs"`` for scalars on nuclei; ignored otherwise.
    label, coupling_label
        Text for plots.
    """

    name: str
    spin: str
    target: str
    quark_couplings: str = "universal"
    label: str = ""
    coupling_label: str = r"$g_\nu g_q$"
    hadronic: HadronicScalarCouplings = field(default_factory=HadronicScalarCouplings)

    def __post_init__(self) -> None:
        if self.spin not in ("scalar", "vector"):
            raise ValueError(f"model {self.name!r}: spin must be 'scalar' or 'vector'")
        if self.target not in ("nucleus", "electron"):
            raise ValueError(f"model {self.name!r}: target must be 'nucleus' or 'electron'")
        if self.target == "electron" and self.spin != "scalar":
            raise ValueError(f"model {self.name!r}: only scalar electron couplings are implemented")

    @property
    def interferes(self) -> bool:
        """Vector exchange interferes with the SM Z exchange; scalar exchange flips helicity and does not."""
        return self.spin == "vector"


MODELS: dict[str, Mediator] = {
    "universal_scalar": Mediator(
        "universal_scalar", "scalar", "nucleus", "universal", "universal scalar", r"$g_\nu g_q$"
    ),
    "higgs_scalar": Mediator("higgs_scalar", "scalar", "nucleus", "higgs", "Higgs-like scalar", r"$g_\nu g_\phi$"),
    "universal_vector": Mediator(
        "universal_vector", "vector", "nucleus", "universal", "universal vector", r"$|g_\nu g_q|$"
    ),
    "leptophilic_scalar": Mediator(
        "leptophilic_scalar", "scalar", "electron", "universal", "leptophilic scalar", r"$g_\nu g_e$"
    ),
}


def get_model(name: str, hadronic: Mapping[str, float] | None = None) -> Mediator:
    """Model by key, optionally with other hadronic scalar couplings."""
    try:
        model = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}") from None
    if hadronic:
        model = replace(model, hadronic=HadronicScalarCouplings(**hadronic))
    return model


def _check_masses(m_med_MeV: np.ndarray) -> np.ndarray:
    m = np.atleast_1d(np.asarray(m_med_MeV, dtype=float))
    if m.ndim != 1 or m.size == 0:
        raise ValueError("mediator masses must be a non-empty 1-d array [MeV]")
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"mediator masses must be finite and positive [MeV], got min {np.min(m)}")
    return m


def cevns_rate_terms(model: Mediator, kernel: RecoilKernel, m_med_MeV: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear and quadratic terms (L, Q) of dR_BSM/dE_R [events / (t yr keV_nr)], summed over
    flux components and isotopes; each of shape (n_mass, n_E)."""
    if model.target != "nucleus":
        raise ValueError(f"model {model.name!r} does not scatter on nuclei")
    m = _check_masses(m_med_MeV)
    e_r = kernel.e_r_MeV
    lin = np.zeros((m.size, e_r.size))
    quad = np.zeros((m.size, e_r.size))
    m2_total = kernel.m2.sum(axis=0)  # (n_iso, n_E): components add for every model
    unit_rate = kernel.rate_per_isotope(charges=np.ones((len(kernel.target.isotopes), 1))).sum(axis=0)
    q_sm = kernel.sm_charges()
    for i, iso in enumerate(kernel.target.isotopes):
        mass = iso.mass_MeV
        if model.spin == "scalar":
            q_phi = scalar_charge(iso.Z, iso.N, model.quark_couplings, model.hadronic)
            denom = (2.0 * mass * e_r[None, :] + m[:, None] ** 2) ** 2
            xs_over_flux = q_phi**2 * mass**2 * e_r * kernel.ff2[i] / (4.0 * np.pi) * u.MEV2_TO_CM2
            quad += kernel.norm[i] * xs_over_flux * m2_total[i] / denom
        else:
            dq = vector_charge_shift(iso.A, mass, e_r, m)
            lin += 2.0 * q_sm[i] * dq * unit_rate[i]
            quad += dq**2 * unit_rate[i]
    return lin, quad


@dataclass(frozen=True, eq=False)
class ElectronKernel:
    """Flux moment integral Phi E^-2 above E_min(T), all flavours, and Z_eff(T) on a grid of T.

    Attributes: ``t_MeV`` (n_T,), ``m2`` (n_T,) [cm^-2 s^-1 MeV^-2], ``z_eff`` (n_T,),
    ``norm``: atoms per tonne x seconds per year x MeV per keV.
    """

    t_MeV: np.ndarray
    m2: np.ndarray
    z_eff: np.ndarray
    norm: float

    @classmethod
    def build(cls, t_keV: np.ndarray, components, z_eff: np.ndarray, atoms_per_tonne: float) -> ElectronKernel:
        t = np.asarray(t_keV, dtype=float) * u.keV
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
            raise ValueError("electron recoil grid must be a non-empty 1-d array of finite positive energies")
        if np.any(np.diff(t) <= 0):
            raise ValueError("electron recoil grid t_keV must increase strictly (sort it)")
        e_min = e_nu_min(t)
        m2 = sum(c.tail_moments(e_min, powers=(2,))[0] for c in components)
        return cls(t, m2, np.asarray(z_eff, dtype=float), atoms_per_tonne * u.SECONDS_PER_YEAR * u.keV)


def electron_rate_terms(
    model: Mediator, kernel: ElectronKernel, m_med_MeV: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(L, Q) of dR_BSM/dT [events / (t yr keV_ee)] for a leptophilic scalar (Eq. 17)."""
    if model.target != "electron":
        raise ValueError(f"model {model.name!r} does not scatter on electrons")
    m = _check_masses(m_med_MeV)
    t = kernel.t_MeV
    denom = (2.0 * u.M_E * t[None, :] + m[:, None] ** 2) ** 2
    xs_over_flux = u.M_E**2 * t / (4.0 * np.pi) * u.MEV2_TO_CM2
    quad = kernel.norm * kernel.z_eff * xs_over_flux * kernel.m2 / denom
    return np.zeros_like(quad), quad
