"""Internal unit system and physical constants.

Inside the library every energy and mass is in **MeV**, every length in **cm**, every time in
**s**; cross sections come out of the formulas in MeV^-2 and are converted to cm^2 with
:data:`MEV2_TO_CM2`. Values enter and leave in the units named by their suffix (``e_nr_keV``,
``m_med_MeV``) and are converted at the edges with the factors below, e.g. ``E_MeV = E_keV * keV``.

References: PDG 2024 (constants), physics.md section 1 (defaults).

>>> round(1.0 * GeV / keV)
1000000
>>> f"{G_F * GeV**2:.7e}"   # G_F in GeV^-2
'1.1663788e-05'
"""

from __future__ import annotations

# --- energy units, expressed in MeV -------------------------------------------------------------
MeV: float = 1.0
eV: float = 1e-6
keV: float = 1e-3
GeV: float = 1e3

# --- conversion factors ---------------------------------------------------------------------------
HBARC_MEV_CM: float = 1.973269804e-11  # hbar c [MeV cm], PDG
HBARC_MEV_FM: float = 197.3269804  # hbar c [MeV fm]
MEV2_TO_CM2: float = HBARC_MEV_CM**2  # 1 MeV^-2 = 3.8938e-22 cm^2
FM: float = 1.0 / HBARC_MEV_FM  # 1 fm in MeV^-1, for q r products
SECONDS_PER_YEAR: float = 365.25 * 86400.0  # Julian year: exposures in t yr
TONNE_KG: float = 1000.0
AVOGADRO: float = 6.02214076e23  # mol^-1
AMU_MEV: float = 931.49410242  # unified atomic mass unit [MeV]
AMU_G: float = 1.0 / AVOGADRO  # 1 u in grams

# --- electroweak and particle constants (PDG) ------------------------------------------------------
G_F: float = 1.1663788e-5 / GeV**2  # Fermi constant [MeV^-2]
SIN2_THETA_W: float = 0.23857  # MSbar at Q -> 0
ALPHA_EM: float = 7.2973525693e-3
M_E: float = 0.51099895  # electron mass [MeV]
M_MU: float = 105.6583755  # muon mass [MeV]
M_PI: float = 139.57039  # charged pion mass [MeV]
M_P: float = 938.27208816  # proton mass [MeV]
M_N: float = 939.56542052  # neutron mass [MeV]
V_HIGGS: float = 246.22 * GeV  # Higgs vacuum expectation value [MeV]

#: Quark masses [MeV]: MSbar at 2 GeV for u, d, s; m_c(m_c), m_b(m_b); t pole (PDG).
QUARK_MASSES: dict[str, float] = {
    "u": 2.16,
    "d": 4.67,
    "s": 93.4,
    "c": 1.27 * GeV,
    "b": 4.18 * GeV,
    "t": 172.7 * GeV,
}

#: Per tonne-year exposure expressed in (number of seconds) for a rate per target per second.
TONNE_YEAR_S: float = SECONDS_PER_YEAR


def targets_per_tonne(molar_mass_g: float) -> float:
    """Number of target nuclei (or formula units) in one tonne of material of the given molar mass.

    >>> f"{targets_per_tonne(131.293):.4e}"
    '4.5868e+27'
    """
    if not molar_mass_g > 0:
        raise ValueError(f"molar mass must be positive, got {molar_mass_g!r} g/mol")
    return TONNE_KG * 1e3 / molar_mass_g * AVOGADRO
