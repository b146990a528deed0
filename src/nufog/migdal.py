"""Migdal ionisation accompanying solar-neutrino nuclear recoils in xenon (physics.md section 2.2).

A nucleus kicked to recoil energy E_R moves with velocity v = sqrt(2 E_R / M); in the nucleus'
frame the electron cloud receives the momentum q_e = m_e v and an electron of orbital (n, l) is
ejected with kinetic energy E_e with probability density (paper Eqs. 5-6; Ibe et al. 2018)

    dP_nl/dE_e = (q_e / 1 eV)^2 / (2 pi) * p_nl(E_e),        q_e = m_e sqrt(2 E_R / M)         (5)

where p_nl is the Ibe et al. table computed for q_e = 1 eV. The factor q_e^2 is the dipole
approximation (|<f| exp(i q_e.x) |i>|^2 ~ q_e^2 |<f|x|i>|^2); the 1/(2 pi) is the convention of
the table (wimprates uses it; the dipole sum rule checks it, see ``tests/unit/test_migdal.py`` and
physics.md section 7). The detected electron-equivalent energy is

    E_det = q_nr(E_R) E_R + E_e + E_nl                                                          (7)

(the hole left in orbital nl de-excites and deposits E_nl), and

    dR/dE_det = sum_nl integral dE_R dR_CEvNS/dE_R dP_nl/dE_e |_(E_e = E_det - q_nr E_R - E_nl).

Since only q_e^2 depends on the isotope (through M), the isotope sum collapses into one weight per
E_R, and the integral is one trapezoid matrix product per orbital.

Units: energies in MeV inside, keV at the interface (``e_det_keV`` in keV_ee, ``e_r_keV`` in
keV_nr); rates per tonne-year per keV.
References: Ibe, Nakano, Shoji, Suzuki, JHEP 03 (2018) 194, arXiv:1707.07258 (table and Table II);
Lindhard et al., Mat. Fys. Medd. Dan. Vid. Selsk. 33 (1963) 10.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nufog import units as u

__all__ = [
    "IbeTable",
    "read_ibe_table",
    "BINDING_EV_IBE",
    "DEFAULT_ORBITALS",
    "ionisation_probability_density",
    "electron_momentum",
    "differential_rate",
]

#: Binding energies E_nl of the xenon orbitals [eV], Ibe et al. 2018, Table II (as used by wimprates).
BINDING_EV_IBE: dict[str, float] = {
    "1_0": 3.5e4,
    "2_0": 5.4e3,
    "2_1": 4.9e3,
    "3_0": 1.1e3,
    "3_1": 9.3e2,
    "3_2": 6.6e2,
    "4_0": 2.0e2,
    "4_1": 1.4e2,
    "4_2": 61.0,
    "5_0": 21.0,
    "5_1": 9.8,
}

#: Default orbitals: n = 3 and 4 (n = 1, 2 negligible; n = 5 is the valence band, unreliable in
#: the liquid; physics.md section 2.2).
DEFAULT_ORBITALS: tuple[str, ...] = ("3_0", "3_1", "3_2", "4_0", "4_1", "4_2")

#: Largest (n_det x n_E_R) matrix built at once in :func:`differential_rate`.
_MAX_MATRIX_ELEMENTS: int = 2_000_000

#: Electron momentum (1 eV) for which the Ibe table is given.
_Q_REF_MEV: float = 1.0 * u.eV


@dataclass(frozen=True, eq=False)
class IbeTable:
    """Ibe et al. differential ionisation probabilities at q_e = 1 eV.

    Attributes
    ----------
    energy_MeV
        Ejected-electron kinetic energies E_e [MeV] (1 eV to 70 keV, log spaced).
    density_per_MeV
        ``{orbital: dp_nl/dE_e}`` [1/MeV] on ``energy_MeV``; orbital keys ``"n_l"`` (``"4_2"`` = 4d).
    """

    energy_MeV: np.ndarray
    density_per_MeV: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        e = np.asarray(self.energy_MeV, dtype=float)
        if e.ndim != 1 or e.size < 2 or np.any(e <= 0) or np.any(np.diff(e) <= 0):
            raise ValueError("Migdal table energies must be positive and strictly increasing")
        for k, p in self.density_per_MeV.items():
            if p.shape != e.shape or np.any(~(p > 0)):
                raise ValueError(f"Migdal table column {k!r}: need positive values on the energy grid")
        object.__setattr__(self, "energy_MeV", e)

    @property
    def orbitals(self) -> tuple[str, ...]:
        """Orbital keys in table order."""
        return tuple(self.density_per_MeV)

    def density(self, orbital: str, E_e_MeV: np.ndarray | float) -> np.ndarray:
        """p_nl(E_e) [1/MeV] at q_e = 1 eV, log-log interpolated; zero outside the table range.

        >>> t = IbeTable(np.array([1e-6, 1e-4]), {"4_2": np.array([1e6, 1e2])})
        >>> np.round(t.density("4_2", np.array([5e-7, 1e-5, 2e-4])), 6).tolist()
        [0.0, 10000.0, 0.0]
        """
        p = self.density_per_MeV[_check_orbitals([orbital], self)[0]]
        E = np.asarray(E_e_MeV, dtype=float)
        e = self.energy_MeV
        inside = (E >= e[0]) & (E <= e[-1])
        # log-log interpolation: the table is a power law between its log-spaced nodes
        logE = np.log(np.where(inside, E, e[0]))
        val = np.exp(np.interp(logE, np.log(e), np.log(p)))
        return np.where(inside, val, 0.0)


def read_ibe_table(path: str | Path) -> IbeTable:
    """Read ``migdal_transition_Xe.csv`` (columns ``1_0, ..., 5_1, E``; E in eV, dp/dE_e in 1/eV).

    Parameters
    ----------
    path
        The wimprates CSV form of the Ibe et al. table (q_e = 1 eV).

    Returns
    -------
    IbeTable
        Energies in MeV, densities in 1/MeV.
    """
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    if "E" not in header or len(header) < 2:
        raise ValueError(f"{path}: expected a header like '1_0,...,5_1,E', got {rows[0]}")
    data = np.array([[float(c) for c in r] for r in rows[1:]])
    if data.ndim != 2 or data.shape[1] != len(header):
        raise ValueError(f"{path}: ragged table")
    i_e = header.index("E")
    energy = data[:, i_e] * u.eV
    # dp/dE [1/eV] -> [1/MeV]: divide by the size of an eV in MeV
    dens = {h: data[:, i] / u.eV for i, h in enumerate(header) if i != i_e}
    return IbeTable(energy, dens)


def electron_momentum(E_R_MeV: np.ndarray | float, nucleus_mass_MeV: float) -> np.ndarray:
    """Momentum q_e = m_e sqrt(2 E_R / M) given to each electron by a recoil E_R [MeV].

    >>> round(float(electron_momentum(1e-3, 1.22e5) / u.eV), 1)   # 1 keV Xe recoil, v ~ 1.3e-4
    65.4
    """
    E = np.asarray(E_R_MeV, dtype=float)
    if np.any(~np.isfinite(E)) or np.any(E < 0):
        raise ValueError("recoil energies E_R_MeV must be finite and >= 0")
    if not nucleus_mass_MeV > 0:
        raise ValueError(f"nucleus mass must be positive, got {nucleus_mass_MeV!r} MeV")
    return u.M_E * np.sqrt(2.0 * E / nucleus_mass_MeV)


def ionisation_probability_density(
    E_e_MeV: np.ndarray | float,
    E_R_MeV: np.ndarray | float,
    nucleus_mass_MeV: float,
    orbital: str,
    table: IbeTable,
) -> np.ndarray:
    """dP_nl/dE_e = (q_e / 1 eV)^2 / (2 pi) p_nl(E_e) [1/MeV] (Eq. 5).

    ``E_e_MeV`` and ``E_R_MeV`` broadcast. Zero outside the table (E_e < 1 eV or > 70 keV).

    Parameters
    ----------
    E_e_MeV
        Ejected-electron kinetic energy [MeV].
    E_R_MeV
        Nuclear recoil energy [MeV].
    nucleus_mass_MeV
        Mass of the recoiling nucleus [MeV].
    orbital
        ``"n_l"`` key, e.g. ``"4_2"`` for 4d.
    table
        Output of :func:`read_ibe_table`.
    """
    q = electron_momentum(E_R_MeV, nucleus_mass_MeV)
    return (q / _Q_REF_MEV) ** 2 / (2.0 * np.pi) * table.density(orbital, E_e_MeV)


def differential_rate(
    e_det_keV: np.ndarray,
    e_r_keV: np.ndarray,
    rate_per_isotope: np.ndarray,
    isotope_masses_MeV: Sequence[float] | np.ndarray,
    table: IbeTable,
    orbitals: Sequence[str] = DEFAULT_ORBITALS,
    quenching: Callable[[np.ndarray], np.ndarray] | float = 0.15,
    binding_eV: dict[str, float] | None = None,
) -> np.ndarray:
    """Migdal rate dR/dE_det [events / (t yr keV_ee)] from a nuclear-recoil spectrum.

    dR/dE_det = sum_nl sum_isotopes integral dE_R dR_i/dE_R dP_nl/dE_e, E_e = E_det - q_nr E_R - E_nl,
    with the E_R integral done by the trapezoid rule on ``e_r_keV``. The upper E_R limits of
    physics.md (kinematic endpoint, E_e >= 0) are automatic: the recoil spectrum is zero above its
    endpoint and dP/dE_e is zero for E_e below the table's 1 eV. Resolve the recoil spectrum finely
    enough that q_nr dE_R is small compared with the E_det resolution wanted.

    Parameters
    ----------
    e_det_keV
        Detected energies [keV_ee], 1-d.
    e_r_keV
        Recoil-energy grid [keV_nr], 1-d, increasing, >= 0.
    rate_per_isotope
        ``(n_isotopes, n_E_R)`` abundance-weighted CEvNS rates dR/dE_R [per t yr keV_nr] on
        ``e_r_keV`` (a 1-d array is taken as a single isotope), or ``(n_spectra, n_isotopes, n_E_R)``
        for several recoil spectra at once (e.g. one per flux component): the ionisation
        probabilities, most of the cost, are then evaluated once for all of them.
    isotope_masses_MeV
        Nuclear mass of each isotope [MeV].
    table
        Ibe et al. table.
    orbitals
        ``"n_l"`` keys to include (default n = 3, 4).
    quenching
        q_nr(E_R[keV]) callable (e.g. :meth:`nufog.quenching.Quenching.factor`) or a constant (default 0.15).
    binding_eV
        E_nl per orbital [eV]; default :data:`BINDING_EV_IBE`.

    Returns
    -------
    ndarray
        dR/dE_det on ``e_det_keV`` [events / (t yr keV_ee)]; ``(n_spectra, n_det)`` for 3-d rates.
    """
    orbitals = _check_orbitals(orbitals, table)
    binding = BINDING_EV_IBE if binding_eV is None else binding_eV
    missing = [o for o in orbitals if o not in binding]
    if missing:
        raise ValueError(f"no binding energy for orbitals {missing}")
    e_det = np.atleast_1d(np.asarray(e_det_keV, dtype=float))
    e_r = np.atleast_1d(np.asarray(e_r_keV, dtype=float))
    if e_det.ndim != 1 or e_r.ndim != 1:
        raise ValueError("e_det_keV and e_r_keV must be 1-d")
    if np.any(~np.isfinite(e_det)) or np.any(e_det < 0):
        raise ValueError("e_det_keV must be finite and >= 0")
    if e_r.size < 2 or np.any(e_r < 0) or np.any(np.diff(e_r) <= 0):
        raise ValueError("e_r_keV must be >= 0 and strictly increasing with at least 2 points")
    rates = np.asarray(rate_per_isotope, dtype=float)
    several = rates.ndim == 3
    rates = rates if several else np.atleast_2d(rates)[None]  # (n_spectra, n_isotopes, n_E_R)
    masses = np.atleast_1d(np.asarray(isotope_masses_MeV, dtype=float))
    if rates.shape[1:] != (masses.size, e_r.size):
        raise ValueError(
            f"rate_per_isotope has shape {np.shape(rate_per_isotope)}, expected ([n_spectra,] "
            f"n_isotopes={masses.size}, n_E_R={e_r.size})"
        )
    if np.any(~(masses > 0)):
        raise ValueError("isotope masses must be positive")

    if callable(quenching):
        q_nr = np.asarray(quenching(e_r), dtype=float) * np.ones_like(e_r)
    else:
        q_nr = np.full_like(e_r, float(quenching))
    if np.any(~np.isfinite(q_nr)) or np.any(q_nr < 0):
        raise ValueError("quenching factor must be finite and >= 0")

    # Isotope sum: only q_e^2 = 2 m_e^2 E_R / M depends on the isotope (Eq. 5), so
    # sum_i R_i(E_R) (q_e,i / 1 eV)^2 / (2 pi) = 2 m_e^2 E_R sum_i R_i / M_i / (1 eV)^2 / (2 pi).
    e_r_MeV = e_r * u.keV
    q2_weight = 2.0 * u.M_E**2 * e_r_MeV * (rates / masses[:, None]).sum(axis=1) / _Q_REF_MEV**2 / (2.0 * np.pi)
    # trapezoid weights on the (possibly non-uniform) E_R grid [keV]
    dx = np.diff(e_r)
    trap = np.zeros_like(e_r)
    trap[:-1] += 0.5 * dx
    trap[1:] += 0.5 * dx
    w = q2_weight * trap  # [per t yr], times p_nl [1/MeV] gives per t yr MeV

    visible = e_r_MeV * q_nr  # quenched nuclear-recoil part of E_det [MeV]
    out = np.zeros((w.shape[0], e_det.size))
    # Blocks of detected energies keep the (n_det, n_E_R) matrices to a few tens of MB.
    rows = max(1, _MAX_MATRIX_ELEMENTS // e_r.size)
    for orb in orbitals:
        for start in range(0, e_det.size, rows):
            blk = slice(start, start + rows)
            e_e = e_det[blk, None] * u.keV - visible[None, :] - binding[orb] * u.eV  # E_e (Eq. 7)
            density = table.density(orb, e_e)
            for k in range(w.shape[0]):
                out[k, blk] += density @ w[k]
    out *= u.keV  # per MeV_ee -> per keV_ee
    return out if several else out[0]


def _check_orbitals(orbitals: Sequence[str], table: IbeTable) -> tuple[str, ...]:
    if isinstance(orbitals, str):
        orbitals = (orbitals,)
    allowed = table.orbitals
    bad = [o for o in orbitals if o not in allowed]
    if bad:
        raise ValueError(f"unknown Migdal orbital(s) {bad}; allowed: {list(allowed)}")
    return tuple(orbitals)
