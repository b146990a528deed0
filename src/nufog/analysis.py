"""Assembly of experiments and signal models from config sections (used by the workflow scripts).

Everything here is bookkeeping: the physics is in :mod:`nufog.cevns`, :mod:`nufog.electron`,
:mod:`nufog.mediators`, :mod:`nufog.experiments`, :mod:`nufog.limits` and :mod:`nufog.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nufog import electron, stats
from nufog import units as u
from nufog.cevns import RecoilKernel
from nufog.config import log_grid
from nufog.experiments import Experiment, experiment_from_config
from nufog.limits import SignalModel, coupling_sign
from nufog.mediators import ElectronKernel, Mediator, get_model
from nufog.rates import migdal_rates, solar_model, xenon_target

__all__ = ["Setup", "ExperimentSummary", "build_model", "mass_chunk"]


@dataclass(frozen=True)
class ExperimentSummary:
    """An experiment with its SM expectations and the resulting signal limit."""

    experiment: Experiment
    sm_cevns_events: float
    sm_electron_events: float
    n_obs: float
    background: float
    background_sigma: float
    n_lim: float

    def as_row(self) -> dict[str, Any]:
        e = self.experiment
        return {
            "experiment": e.name,
            "label": e.label,
            "exposure_t_yr": e.exposure_t_yr,
            "observed": self.n_obs,
            "background": self.background,
            "background_sigma": self.background_sigma,
            "sm_cevns_events": self.sm_cevns_events,
            "sm_electron_events": self.sm_electron_events,
            "efficiency_scale": e.efficiency.scale,
            "n_lim": self.n_lim,
        }


@dataclass(eq=False)
class Setup:
    """Solar model, xenon target and kernels on the folding grids of ``limits``."""

    files: Mapping[str, str | Path]
    config: Mapping[str, Any]

    @cached_property
    def fluxes(self):
        return solar_model(self.files, self.config["solar"])

    @cached_property
    def target(self):
        return xenon_target(self.config["xenon"]["isotopes"])

    @cached_property
    def e_nr_keV(self) -> np.ndarray:
        return log_grid(self.config["limits"]["e_nr_keV"])

    @cached_property
    def e_ee_keV(self) -> np.ndarray:
        return log_grid(self.config["limits"]["e_ee_keV"])

    @cached_property
    def recoil_kernel(self) -> RecoilKernel:
        ff = self.config["xenon"].get("form_factor", "helm")
        return RecoilKernel.build(self.e_nr_keV, self.target, self.fluxes.components, ff)

    @cached_property
    def sm_rate_nr(self) -> np.ndarray:
        return self.recoil_kernel.sm_rate()["total"]

    @cached_property
    def shells(self):
        return electron.read_binding_energies(self.files["xe_binding"])

    @cached_property
    def electron_kernel(self) -> ElectronKernel:
        z_eff = electron.effective_electrons(self.e_ee_keV * u.keV, self.shells)
        return ElectronKernel.build(self.e_ee_keV, self.fluxes.components, z_eff, self.target.formula_units_per_tonne)

    @cached_property
    def sm_rate_ee(self) -> np.ndarray:
        rate = electron.differential_rate(self.e_ee_keV, self.fluxes, self.shells, self.target.formula_units_per_tonne)
        return rate["total"]

    @cached_property
    def migdal_rate_ee(self) -> np.ndarray:
        """SM Migdal rate dR/dE_det [1/(t yr keV_ee)] on the ``e_ee_keV`` grid (needs ``grids`` and
        the ``migdal_xe`` input). The recoil integral runs on ``grids.e_nr_keV``, which reaches the
        low recoils of the 7Be and CNO neutrinos."""
        e_nr = log_grid(self.config["grids"]["e_nr_keV"])
        rates = migdal_rates(
            self.e_ee_keV, e_nr, self.target, self.fluxes, self.config["xenon"], self.files["migdal_xe"]
        )
        return rates["total"]

    def migdal_events(self, summary: ExperimentSummary) -> float:
        """SM Migdal events seen by an experiment that keeps electron-like signals (S2-only,
        projections): the Migdal spectrum folded with its keV_ee efficiency; 0 otherwise."""
        if not summary.experiment.electron_recoils:
            return 0.0
        return float(summary.experiment.events(self.e_ee_keV, self.migdal_rate_ee, "ee"))

    def experiment(self, name: str) -> ExperimentSummary:
        """The experiment ``name`` with its efficiency normalised and its N_lim."""
        cfg = self.config["experiments"][name]
        limits = self.config["limits"]
        exp = experiment_from_config(name, cfg, self.files, limits.get("ee_quenching"))
        exp = exp.normalised(self.e_nr_keV, self.sm_rate_nr)
        n_sm = float(exp.events(self.e_nr_keV, self.sm_rate_nr))
        n_e = float(exp.events(self.e_ee_keV, self.sm_rate_ee, "ee")) if exp.electron_recoils else 0.0
        n_obs, background = exp.counts(n_sm)
        sigma_b = exp.background_sigma if limits.get("profile_background", False) else 0.0
        n_lim = float(stats.signal_upper_limit(n_obs, background, limits["cl"], limits["reference"], sigma_b))
        return ExperimentSummary(exp, n_sm, n_e, n_obs, background, sigma_b, n_lim)

    def signal(self, model_name: str, summary: ExperimentSummary) -> SignalModel:
        model = build_model(model_name, self.config)
        kernel = self.recoil_kernel if model.target == "nucleus" else self.electron_kernel
        interference = self.config["models"][model_name].get("interference", "constructive")
        return SignalModel(model, summary.experiment, kernel, coupling_sign(model, interference))


def build_model(name: str, config: Mapping[str, Any]) -> Mediator:
    """The mediator of ``models.<name>`` (its ``kind`` defaults to the key)."""
    cfg = config["models"][name]
    model = get_model(cfg.get("kind", name), config.get("hadronic"))
    return replace(model, name=name)


def mass_chunk(spec: Mapping[str, Any], scatteritem: str) -> np.ndarray:
    """The masses of chunk ``i-of-n`` of the ``limits.m_med_MeV`` grid (contiguous, 1-based).

    >>> mass_chunk({"min": 1.0, "max": 1e4, "n": 5}, "2-of-2").tolist()
    [1000.0, 10000.0]
    """
    i, n = (int(x) for x in scatteritem.split("-of-"))
    if not 1 <= i <= n:
        raise ValueError(f"bad scatter item {scatteritem!r}")
    return np.array_split(log_grid(spec), n)[i - 1]
