"""Elastic neutrino-electron scattering on the bound electrons of xenon (physics.md section 2.3).

Free-electron approximation with a step function over the atomic sub-shells (paper Eqs. 8-11;
Hsieh et al. 2019, Coloma et al. 2022): an electron of binding energy B_i can only take part when
the deposited energy T exceeds B_i, so per atom

    dsigma/dT = Z_eff(T) dsigma_free/dT,        Z_eff(T) = sum_i n_i Theta(T - B_i)            (8)

    dsigma_free/dT = G_F^2 m_e / (2 pi) [ (g_V + g_A)^2 + (g_V - g_A)^2 (1 - T/E)^2
                                          + (g_A^2 - g_V^2) m_e T / E^2 ]                      (9)

(Vogel & Engel, PRD 39 (1989) 3378). The bracket is a polynomial in 1/E,

    A + B (1 - 2T/E + T^2/E^2) + C m_e T / E^2,   A = (g_V+g_A)^2, B = (g_V-g_A)^2, C = g_A^2-g_V^2,

so the flux integral over E >= E_min(T) (Eq. 11) needs only the three moments
M_p(T) = integral_{E_min(T)} dE Phi(E) w(E) E^-p, p = 0, 1, 2, which
:meth:`nufog.solar.FluxComponent.tail_moments` returns for all T at once (no per-point
quadrature). The nu_e part carries the weight w = P_ee, the nu_mu + nu_tau part w = 1 - P_ee.
:func:`flux_moments` is that reusable step; the light-mediator module adds its own terms on top.

Units: energies in MeV inside (``T_MeV``), keV at the edge (``T_keV``); cross sections in cm^2;
rates in events per tonne-year per keV (electron-equivalent: T is the deposited energy).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from nufog import units as u
from nufog.solar import FluxComponent, SolarFluxes

__all__ = [
    "ShellTable",
    "FluxMoments",
    "read_binding_energies",
    "effective_electrons",
    "couplings",
    "dsigma_dT_free",
    "t_max",
    "e_nu_min",
    "flux_moments",
    "rate_from_moments",
    "differential_rate",
    "FLAVOURS",
]

#: Accepted flavour names, mapped to the canonical ``"e"``, ``"mu"``, ``"tau"``.
FLAVOURS: dict[str, str] = {
    "e": "e",
    "nu_e": "e",
    "mu": "mu",
    "nu_mu": "mu",
    "tau": "tau",
    "nu_tau": "tau",
}

#: Powers of 1/E_nu in the expansion of Eq. (9).
POWERS: tuple[int, int, int] = (0, 1, 2)


# --- atomic shells --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ShellTable:
    """Atomic sub-shells of the target.

    Attributes
    ----------
    labels
        Sub-shell names (``"4d5/2"``, ...).
    binding_MeV
        Binding energies B_i [MeV].
    occupancy
        Number of electrons n_i in each sub-shell.
    """

    labels: tuple[str, ...]
    binding_MeV: np.ndarray
    occupancy: np.ndarray
    _edges: np.ndarray = field(init=False, repr=False)
    _cum: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.binding_MeV, dtype=float)
        n = np.asarray(self.occupancy, dtype=float)
        if not (b.ndim == n.ndim == 1 and b.size == n.size == len(self.labels)):
            raise ValueError("labels, binding_MeV and occupancy must be 1-d and of equal length")
        if np.any(~np.isfinite(b)) or np.any(b < 0):
            raise ValueError(f"binding energies must be finite and >= 0, got {b}")
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"occupancies must be non-negative integers, got {n}")
        object.__setattr__(self, "binding_MeV", b)
        object.__setattr__(self, "occupancy", n)
        # Sorted edges and the electron count with B_i <= each edge, for a vectorised Z_eff (Eq. 8).
        order = np.argsort(b, kind="stable")
        object.__setattr__(self, "_edges", b[order])
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(n[order])]))

    @property
    def n_electrons(self) -> int:
        """Total number of electrons (54 for xenon)."""
        return int(self.occupancy.sum())


def read_binding_energies(path: str | Path) -> ShellTable:
    """Read a sub-shell table with columns ``Orbital, Binding Energy (eV), Electrons in Orbital``.

    The default input is ``data/xenon/binding_xenon_SNuDD.csv`` (17 xenon sub-shells, RRPA binding
    energies of Chen et al., arXiv:1610.04177).

    Parameters
    ----------
    path
        CSV file; the binding energies are in eV.

    Returns
    -------
    ShellTable
        With binding energies converted to MeV.
    """
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    header = [c.strip().lower() for c in rows[0]]
    try:
        i_lab = header.index("orbital")
        i_b = next(i for i, h in enumerate(header) if h.startswith("binding energy"))
        i_n = next(i for i, h in enumerate(header) if h.startswith("electrons"))
    except (ValueError, StopIteration):
        raise ValueError(
            f"{path}: expected columns 'Orbital, Binding Energy (eV), Electrons in Orbital', got {rows[0]}"
        ) from None
    body = rows[1:]
    if not body:
        raise ValueError(f"{path}: no sub-shell rows")
    labels = tuple(r[i_lab].strip() for r in body)
    binding = np.array([float(r[i_b]) for r in body]) * u.eV
    occupancy = np.array([float(r[i_n]) for r in body])
    return ShellTable(labels, binding, occupancy)


def effective_electrons(T_MeV: np.ndarray | float, shells: ShellTable) -> np.ndarray:
    """Number of electrons that can be ionised by a deposit T: Z_eff(T) = sum_i n_i Theta(T - B_i).

    Eq. (8); Theta(0) = 1, i.e. a sub-shell counts from T = B_i on.

    Parameters
    ----------
    T_MeV
        Deposited (electron recoil) energy [MeV], any shape.
    shells
        Sub-shell table.

    Returns
    -------
    ndarray
        Z_eff, same shape as ``T_MeV`` (float).

    Examples
    --------
    >>> sh = ShellTable(("a", "b"), np.array([1e-5, 1e-3]), np.array([2, 8]))
    >>> effective_electrons(np.array([0.0, 1e-5, 5e-4, 2e-3]), sh).tolist()
    [0.0, 2.0, 2.0, 10.0]
    """
    T = np.asarray(T_MeV, dtype=float)
    idx = np.searchsorted(shells._edges, T, side="right")
    return shells._cum[idx]


# --- free-electron cross section -----------------------------------------------------------------


def couplings(flavour: str) -> tuple[float, float]:
    """Effective vector and axial couplings (g_V, g_A) of nu_alpha on electrons.

    nu_e gets the charged-current contribution (W exchange, Fierz-rearranged):
    g_V = 1/2 + 2 s_W^2, g_A = +1/2; nu_mu, nu_tau (neutral current only):
    g_V = -1/2 + 2 s_W^2, g_A = -1/2.

    >>> gv, ga = couplings("nu_mu")
    >>> round(gv, 5), ga
    (-0.02286, -0.5)
    """
    try:
        f = FLAVOURS[flavour]
    except (KeyError, TypeError):
        raise ValueError(f"unknown neutrino flavour {flavour!r}; choose from {sorted(FLAVOURS)}") from None
    if f == "e":
        return 0.5 + 2.0 * u.SIN2_THETA_W, 0.5
    return -0.5 + 2.0 * u.SIN2_THETA_W, -0.5


def _bracket_coefficients(flavour: str) -> tuple[float, float, float]:
    """A = (g_V+g_A)^2, B = (g_V-g_A)^2, C = g_A^2 - g_V^2 of Eq. (9)."""
    gv, ga = couplings(flavour)
    return (gv + ga) ** 2, (gv - ga) ** 2, ga**2 - gv**2


#: Prefactor G_F^2 m_e / (2 pi) of Eq. (9), converted to cm^2 / MeV.
_SIGMA0_CM2_PER_MEV: float = u.G_F**2 * u.M_E / (2.0 * np.pi) * u.MEV2_TO_CM2


def t_max(E_nu_MeV: np.ndarray | float) -> np.ndarray:
    """Largest electron recoil energy for a neutrino energy E: T_max = 2 E^2 / (m_e + 2 E) [MeV].

    >>> round(float(t_max(0.8613)) * 1e3, 1)   # 7Be Compton-like edge [keV]
    664.3
    """
    E = _check_energy(E_nu_MeV, "E_nu_MeV")
    return 2.0 * E**2 / (u.M_E + 2.0 * E)


def e_nu_min(T_MeV: np.ndarray | float) -> np.ndarray:
    """Smallest neutrino energy giving an electron recoil T: (T + sqrt(T^2 + 2 m_e T)) / 2 [MeV].

    Eq. (11); the inverse of :func:`t_max`.

    >>> bool(np.isclose(t_max(e_nu_min(0.01)), 0.01))
    True
    """
    T = _check_energy(T_MeV, "T_MeV")
    return 0.5 * (T + np.sqrt(T**2 + 2.0 * u.M_E * T))


def dsigma_dT_free(T_MeV: np.ndarray | float, E_nu_MeV: np.ndarray | float, flavour: str) -> np.ndarray:
    """Free-electron cross section dsigma/dT of nu_alpha e -> nu_alpha e [cm^2 / MeV per electron].

    Eq. (9), zero above the kinematic maximum T_max(E) = 2E^2/(m_e + 2E). ``T_MeV`` and
    ``E_nu_MeV`` broadcast against each other.

    Parameters
    ----------
    T_MeV
        Electron recoil energy [MeV], >= 0.
    E_nu_MeV
        Neutrino energy [MeV], > 0.
    flavour
        ``"e"``/``"nu_e"``, ``"mu"``/``"nu_mu"`` or ``"tau"``/``"nu_tau"``.

    Examples
    --------
    At T -> 0 the bracket is (g_V+g_A)^2 + (g_V-g_A)^2 = 2 (g_V^2 + g_A^2):

    >>> gv, ga = couplings("e")
    >>> s0 = float(dsigma_dT_free(0.0, 1.0, "e"))
    >>> bool(np.isclose(s0, _SIGMA0_CM2_PER_MEV * 2 * (gv**2 + ga**2)))
    True
    """
    A, B, C = _bracket_coefficients(flavour)
    T = _check_energy(T_MeV, "T_MeV")
    E = np.asarray(E_nu_MeV, dtype=float)
    if np.any(~(E > 0)) or not np.all(np.isfinite(E)):
        raise ValueError("neutrino energies E_nu_MeV must be finite and positive")
    y = T / E
    bracket = A + B * (1.0 - y) ** 2 + C * u.M_E * T / E**2
    return np.where(T <= t_max(E), _SIGMA0_CM2_PER_MEV * bracket, 0.0)


# --- flux moments and rates ----------------------------------------------------------------------


class FluxMoments(NamedTuple):
    """Flux moments M_p(T) = integral_{E_min(T)} dE Phi(E) w(E) E^-p for p = 0, 1, 2.

    Each field has shape ``(3,) + T.shape`` in cm^-2 s^-1 MeV^-p; ``nu_e`` is weighted with
    P_ee, ``nu_x`` (nu_mu + nu_tau) with 1 - P_ee. Their sum is the unoscillated moment.
    """

    nu_e: np.ndarray
    nu_x: np.ndarray


def flux_moments(
    T_MeV: np.ndarray | float,
    component: FluxComponent,
    survival: Callable[[np.ndarray], np.ndarray] | None,
) -> FluxMoments:
    """Flavour-split moments (p = 0, 1, 2) of one flux component above E_min(T) (Eq. 11).

    Parameters
    ----------
    T_MeV
        Electron recoil energies [MeV], any shape.
    component
        Solar flux component (continuum or line).
    survival
        P_ee(E_nu); ``None`` means no oscillation (everything stays nu_e).

    Returns
    -------
    FluxMoments
        ``nu_e`` and ``nu_x`` arrays of shape ``(3,) + T.shape``.
    """
    e_min = e_nu_min(T_MeV)
    if survival is None:
        m_e = component.tail_moments(e_min, powers=POWERS)
        return FluxMoments(m_e, np.zeros_like(m_e))

    # P_ee on the component's energy grid once for both flavours (it costs ~30 ms per evaluation)
    return FluxMoments(*component.split_tail_moments(e_min, powers=POWERS, weight=survival))


def rate_from_moments(T_MeV: np.ndarray | float, moments: FluxMoments) -> np.ndarray:
    """Flux-averaged free-electron cross section sum_alpha integral dE Phi_alpha dsigma_free/dT.

    Inserts the moments into the 1/E expansion of Eq. (9):

        G_F^2 m_e/(2 pi) sum_alpha [ (A+B) M_0 - 2 B T M_1 + (B T^2 + C m_e T) M_2 ]

    Parameters
    ----------
    T_MeV
        Electron recoil energies [MeV].
    moments
        Output of :func:`flux_moments` at the same ``T_MeV``.

    Returns
    -------
    ndarray
        Per free electron, in s^-1 MeV^-1 (cm^2/MeV times cm^-2 s^-1).
    """
    T = np.asarray(T_MeV, dtype=float)
    total = np.zeros(np.broadcast_shapes(T.shape, moments.nu_e.shape[1:]))
    for flavour, m in (("e", moments.nu_e), ("mu", moments.nu_x)):
        A, B, C = _bracket_coefficients(flavour)
        total = total + (A + B) * m[0] - 2.0 * B * T * m[1] + (B * T**2 + C * u.M_E * T) * m[2]
    return _SIGMA0_CM2_PER_MEV * total


def differential_rate(
    T_keV: np.ndarray | float,
    fluxes: SolarFluxes | Iterable[FluxComponent],
    shells: ShellTable,
    targets_per_tonne: float,
    oscillations: bool = True,
) -> dict[str, np.ndarray]:
    """Solar neutrino-electron scattering rate in xenon, per component and in total.

        dR/dT = N_atoms Z_eff(T) sum_components integral_{E_min(T)} dE
                [P_ee Phi dsigma_e/dT + (1 - P_ee) Phi dsigma_mu/dT]

    Parameters
    ----------
    T_keV
        Deposited electron energies [keV_ee], >= 0, any shape.
    fluxes
        Solar model (:class:`nufog.solar.SolarFluxes`; its production-zone averaged P_ee is used).
    shells
        Sub-shell table for Z_eff(T).
    targets_per_tonne
        Number of *atoms* per tonne, e.g. ``units.targets_per_tonne(131.293)`` for natural Xe.
    oscillations
        If False, every neutrino arrives as nu_e (no P_ee); for cross-checks.

    Returns
    -------
    dict
        ``{component name: dR/dT}`` plus ``"total"``, each shaped like ``T_keV``, in events per
        tonne-year per keV_ee.
    """
    if not targets_per_tonne > 0:
        raise ValueError(f"targets_per_tonne must be positive, got {targets_per_tonne!r}")
    T = _check_energy(T_keV, "T_keV") * u.keV
    # atoms/t * electrons/atom * (s^-1 MeV^-1 per electron) -> per t yr keV
    scale = targets_per_tonne * effective_electrons(T, shells) * u.SECONDS_PER_YEAR * u.keV
    out: dict[str, np.ndarray] = {}
    for comp in fluxes:
        pee = None
        if oscillations:
            if not isinstance(fluxes, SolarFluxes):
                raise ValueError("oscillations=True needs a SolarFluxes model (for P_ee)")
            pee = fluxes.survival_probability(comp)
        out[comp.name] = scale * rate_from_moments(T, flux_moments(T, comp, pee))
    out["total"] = sum(out.values(), np.zeros_like(T))
    return out


def _check_energy(x: np.ndarray | float, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return a
