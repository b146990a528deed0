"""Standard-Model rate tables in xenon: CEvNS, Migdal and nu-e scattering (paper Fig. 1).

Builds the physics objects from config sections (``solar``, ``xenon``, ``grids``) and returns one
table per process: an energy column and one ``dR/dE`` column per flux component plus ``total``,
in events per tonne-year per keV (keV_nr for CEvNS, keV_ee for Migdal and nu-e).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nufog import cevns, electron, migdal
from nufog.config import log_grid
from nufog.nuclei import Isotope, Target
from nufog.quenching import from_config as quenching_from_config
from nufog.solar import OscillationParameters, SolarFluxes, load_solar_fluxes

if TYPE_CHECKING:  # pandas where a table is made: the fold and limit jobs that import this module skip it
    import pandas as pd

__all__ = ["xenon_target", "solar_model", "tabulate", "migdal_rates", "PROCESSES", "RATE_UNIT"]

PROCESSES = ("cevns", "migdal", "electron")
RATE_UNIT = "1/(t yr keV)"
log = logging.getLogger(__name__)


def xenon_target(isotopes: list[Mapping[str, Any]]) -> Target:
    """Natural xenon from the ``xenon.isotopes`` config list (abundances renormalised to 1)."""
    abundance = np.array([float(i["abundance"]) for i in isotopes])
    abundance = abundance / abundance.sum()
    masses = np.array([float(i["atomic_mass_u"]) for i in isotopes])
    isos = tuple(
        Isotope.from_atomic_mass(int(i["A"]), int(i["Z"]), f, m) for i, f, m in zip(isotopes, abundance, masses)
    )
    return Target("Xe", isos, float(abundance @ masses))


def solar_model(files: Mapping[str, str | Path], cfg: Mapping[str, Any]) -> SolarFluxes:
    """Solar fluxes from the ``solar`` config section."""
    return load_solar_fluxes(
        files,
        ssm=cfg.get("ssm", "GS98"),
        b8_shape=cfg.get("b8_shape", "bahcall1996"),
        b8_flux_cm2_s=cfg.get("b8_flux_cm2_s"),
        components=cfg.get("components"),
        osc=OscillationParameters(**cfg.get("oscillation", {})),
        be7_shape=cfg.get("be7_shape", "line"),
    )


def _frame(
    energy_name: str, energy: np.ndarray, rates: Mapping[str, np.ndarray]
) -> tuple[pd.DataFrame, dict[str, str]]:
    columns = {energy_name: energy}
    units = {energy_name: energy_name.rsplit("_", 1)[-1].replace("keV", "keV")}
    for name, values in rates.items():
        col = f"rate_{name}"
        columns[col] = np.asarray(values, dtype=float)
        units[col] = RATE_UNIT
    units[energy_name] = "keV"
    import pandas as pd

    return pd.DataFrame(columns), units


def tabulate(
    process: str, files: Mapping[str, str | Path], params: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rate table of one process.

    Parameters
    ----------
    process
        ``cevns`` (on the ``grids.e_nr_keV`` grid), ``migdal`` or ``electron`` (``grids.e_ee_keV``).
    files
        Input paths keyed by manifest name (solar files; ``migdal_xe``; ``xe_binding``).
    params
        Dict with the ``solar``, ``xenon`` and ``grids`` config sections.

    Returns
    -------
    (DataFrame, units)
        Columns ``e_nr_keV`` or ``e_ee_keV`` and ``rate_<component>`` plus ``rate_total``.
    """
    if process not in PROCESSES:
        raise ValueError(f"process must be one of {PROCESSES}, got {process!r}")
    fluxes = solar_model(files, params["solar"])
    xe_cfg = params["xenon"]
    target = xenon_target(xe_cfg["isotopes"])
    e_nr = log_grid(params["grids"]["e_nr_keV"])
    if process == "cevns":
        rates = cevns.differential_rate(e_nr, target, fluxes.components, xe_cfg.get("form_factor", "helm"))
        return _frame("e_nr_keV", e_nr, rates)
    e_ee = log_grid(params["grids"]["e_ee_keV"])
    if process == "electron":
        shells = electron.read_binding_energies(files["xe_binding"])
        rates = electron.differential_rate(e_ee, fluxes, shells, target.formula_units_per_tonne)
        return _frame("e_ee_keV", e_ee, rates)
    rates = migdal_rates(e_ee, e_nr, target, fluxes, xe_cfg, files["migdal_xe"])
    return _frame("e_ee_keV", e_ee, rates)


def migdal_rates(
    e_ee_keV: np.ndarray,
    e_nr_keV: np.ndarray,
    target: Target,
    fluxes: SolarFluxes,
    xenon_cfg: Mapping[str, Any],
    table_path: str | Path,
) -> dict[str, np.ndarray]:
    """Migdal dR/dE_det [1/(t yr keV_ee)] per flux component and ``total``, from the ``xenon``
    config section (form factor, quenching, orbitals); the recoil integral runs on ``e_nr_keV``."""
    kernel = cevns.RecoilKernel.build(e_nr_keV, target, fluxes.components, xenon_cfg.get("form_factor", "helm"))
    per_comp_iso = kernel.rate_per_isotope()  # (n_comp, n_iso, n_E)
    table = migdal.read_ibe_table(table_path)
    quench = quenching_from_config(xenon_cfg.get("quenching", {}))
    orbitals = tuple(xenon_cfg.get("migdal_orbitals", migdal.DEFAULT_ORBITALS))
    # all components at once: the ionisation probabilities (most of the cost) are evaluated once
    per_comp = migdal.differential_rate(
        e_ee_keV, e_nr_keV, per_comp_iso, kernel.masses_MeV, table, orbitals, quench.factor
    )
    rates = dict(zip(kernel.components, per_comp))
    rates["total"] = sum(rates.values())
    return rates
