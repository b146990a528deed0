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
from nufog.datasets import BinnedData, Response, trapezoid_weights
from nufog.experiments import Experiment, experiment_from_config
from nufog.fold import fold_table, group_components
from nufog.likelihood import Modifier, Sample
from nufog.limits import MASS_BLOCK, SignalModel, coupling_sign
from nufog.mediators import ElectronKernel, Mediator, cevns_rate_terms, electron_rate_terms, get_model
from nufog.rates import migdal_rates, solar_model, xenon_target

__all__ = [
    "Setup",
    "ExperimentSummary",
    "build_model",
    "signed_model",
    "mass_chunk",
    "counting_data",
    "binned_data",
    "physics_terms",
    "fold_experiment",
    "flux_nuisances",
]


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
        sigma_b = exp.background_sigma if limits.get("profile", True) else 0.0
        cl, reference = limits.get("cl", 0.9), limits.get("reference", "background_only")
        n_lim = float(stats.signal_upper_limit(n_obs, background, cl, reference, sigma_b))
        return ExperimentSummary(exp, n_sm, n_e, n_obs, background, sigma_b, n_lim)

    def signal(self, model_name: str, summary: ExperimentSummary) -> SignalModel:
        model, sign = signed_model(model_name, self.config)
        kernel = self.recoil_kernel if model.target == "nucleus" else self.electron_kernel
        return SignalModel(model, summary.experiment, kernel, sign)


def build_model(name: str, config: Mapping[str, Any]) -> Mediator:
    """The mediator of ``models.<name>`` (its ``kind`` defaults to the key)."""
    cfg = config["models"][name]
    model = get_model(cfg.get("kind", name), config.get("hadronic"))
    return replace(model, name=name)


def signed_model(name: str, config: Mapping[str, Any]) -> tuple[Mediator, int]:
    """The mediator of ``models.<name>`` and the sign of its coupling product (``models.<name>.interference``,
    default constructive: :func:`nufog.limits.coupling_sign`)."""
    model = build_model(name, config)
    return model, coupling_sign(model, config["models"][name].get("interference", "constructive"))


def mass_chunk(spec: Mapping[str, Any], scatteritem: str) -> np.ndarray:
    """The masses of chunk ``i-of-n`` of the ``limits.m_med_MeV`` grid (contiguous, 1-based).

    >>> mass_chunk({"min": 1.0, "max": 1e4, "n": 5}, "2-of-2").tolist()
    [1000.0, 10000.0]
    """
    i, n = (int(x) for x in scatteritem.split("-of-"))
    if not 1 <= i <= n:
        raise ValueError(f"bad scatter item {scatteritem!r}")
    return np.array_split(log_grid(spec), n)[i - 1]


# --- data sets and fold artifacts ------------------------------------------------------------------------
def counting_data(setup: Setup, name: str) -> BinnedData:
    """A paper counting experiment as a one-bin :class:`BinnedData`.

    Response: exposure x efficiency x trapezoid weights on the folding grid (``limits.e_nr_keV``; the
    electron-recoil response on ``limits.e_ee_keV`` with the Lindhard-converted efficiency). Backgrounds:
    the quoted background minus the SM CEvNS expectation when the count set includes it (the SM CEvNS
    then enters as its own sample, scaled by the 8B flux nuisance); where the quoted background is below
    nufog's SM expectation (PandaX-4T S1+S2 in the paper's Table 1: 2.16 against 3.34) the SM sample is
    scaled down to the quoted background (``sm_scale``) and no other background remains, so that the
    expectation at G = 0 is always the quoted one. ``background_sigma`` becomes the normal nuisance
    ``<name>_background``; ``efficiency.sigma`` (optional) the signal-efficiency nuisance
    ``<name>_efficiency``.
    """
    summary = setup.experiment(name)
    exp = summary.experiment
    cfg = setup.config["experiments"][name]
    e_nr = setup.e_nr_keV
    response = Response("nr", e_nr, (exp.exposure_t_yr * exp.efficiency_nr(e_nr) * trapezoid_weights(e_nr))[None, :])
    response_ee = None
    if exp.electron_recoils:
        e_ee = setup.e_ee_keV
        matrix = exp.exposure_t_yr * exp.efficiency_ee(e_ee) * trapezoid_weights(e_ee)
        response_ee = Response("ee", e_ee, matrix[None, :])
    n_sm = summary.sm_cevns_events
    other = summary.background - n_sm
    sm_scale = 1.0 if other >= 0 else summary.background / n_sm
    backgrounds = ()
    if other > 1e-12 * summary.background:
        sigma = summary.background_sigma
        mods = (Modifier(f"{name}_background", "normal", sigma / other),) if sigma > 0 else ()
        backgrounds = (Sample("background", np.array([other]), mods),)
    eff_sigma = cfg["efficiency"].get("sigma")
    signal_mods = (Modifier(f"{name}_efficiency", "normal", float(eff_sigma)),) if eff_sigma else ()
    events = {
        "sm_cevns": n_sm,
        "sm_electron": summary.sm_electron_events,
        "sm_migdal": setup.migdal_events(summary) if exp.electron_recoils else 0.0,
        "background_quoted": summary.background,
        "background_sigma": summary.background_sigma,
        "efficiency_scale": exp.efficiency.scale,
        "is_projection": exp.is_projection,
    }
    # the curve itself, for Fig. 2 (which reads fold files, not the inputs)
    curve = {
        "e_keV": e_nr.tolist(),
        "efficiency": exp.efficiency_nr(e_nr).tolist(),
        "roi_keV": list(exp.efficiency.roi_keV),
    }
    return BinnedData(
        name=name,
        label=exp.label,
        bin_labels=("roi",),
        observed=np.array([summary.n_obs]),
        response=response,
        backgrounds=backgrounds,
        signal_modifiers=signal_mods,
        exposure_t_yr=exp.exposure_t_yr,
        meta={"kind": "counting", "summary": events, "efficiency_nr": curve, **_reference(cfg)},
        response_ee=response_ee,
        sm_scale=sm_scale,
    )


def _reference(cfg: dict) -> dict[str, str]:
    """``{"reference": ...}`` of the count set in use, if the config cites one."""
    counts = cfg["count_sets"][cfg.get("counts", "paper")]
    return {"reference": counts["reference"]} if counts.get("reference") else {}


def binned_data(setup: Setup, name: str) -> BinnedData:
    """The data set ``experiments.<name>``: a counting experiment, or a release read by its ``kind``."""
    cfg = setup.config["experiments"][name]
    if cfg.get("kind", "counting") == "counting":
        return counting_data(setup, name)
    from nufog.xenonnt import binned_data_from_config

    return binned_data_from_config(name, cfg, setup.files)


def flux_nuisances(config: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """``{flux group: (nuisance, sigma)}`` from the ``nuisances`` config section (``flux_8B``)."""
    spec = (config.get("nuisances") or {}).get("flux_8B")
    return {"8B": ("flux_8B", float(spec["sigma"]))} if spec else {}


def physics_terms(
    setup: Setup, data: BinnedData, model_names: list[str], masses_MeV: np.ndarray
) -> tuple[dict, dict, dict]:
    """SM CEvNS rates and every model's (L, Q) per flux group on the data set's response nodes.

    Returns ``(sm_rates, bsm_terms, model_info)`` as :func:`nufog.fold.fold_table` takes them.
    """
    comps = {c.name: c for c in setup.fluxes.components}
    groups = group_components(list(comps))
    ff = setup.config["xenon"].get("form_factor", "helm")
    nr = data.response_for("nr")
    kernels = {
        g: RecoilKernel.build(nr.e_keV, setup.target, [comps[c] for c in names], ff) for g, names in groups.items()
    }
    sm_rates = {"nr": {g: k.sm_rate()["total"] for g, k in kernels.items()}}
    bsm, info = {}, {}
    for name in model_names:
        model, sign = signed_model(name, setup.config)
        energy = "nr" if model.target == "nucleus" else "ee"
        info[name] = {
            "energy": energy,
            "kind": setup.config["models"][name].get("kind", name),
            "coupling_sign": sign,
            "label": model.label,
            "coupling_label": model.coupling_label,
        }
        if energy == "nr":
            group_kernels = kernels
            terms_fn = cevns_rate_terms
        else:
            ee = data.response_for("ee")
            z_eff = electron.effective_electrons(ee.e_keV * u.keV, setup.shells)
            atoms = setup.target.formula_units_per_tonne
            group_kernels = {
                g: ElectronKernel.build(ee.e_keV, [comps[c] for c in names], z_eff, atoms)
                for g, names in groups.items()
            }
            terms_fn = electron_rate_terms
        bsm[name] = {}
        for g, kern in group_kernels.items():
            lin = np.empty((masses_MeV.size, _grid_size(kern)))
            quad = np.empty_like(lin)
            for start in range(0, masses_MeV.size, MASS_BLOCK):
                block = slice(start, start + MASS_BLOCK)
                lin[block], quad[block] = terms_fn(model, kern, masses_MeV[block])
            bsm[name][g] = (sign * lin, quad)
    return sm_rates, bsm, info


def _grid_size(kernel: RecoilKernel | ElectronKernel) -> int:
    return (kernel.e_r_MeV if isinstance(kernel, RecoilKernel) else kernel.t_MeV).size


def fold_experiment(
    files: Mapping[str, str | Path], config: Mapping[str, Any], name: str, models: list[str] | None = None
):
    """Fold table and metadata of data set ``name`` for ``models`` (default: the models whose
    ``experiments`` list it)."""
    setup = Setup(files, config)
    data = binned_data(setup, name)
    if models is None:
        models = [m for m, cfg in config["models"].items() if name in cfg["experiments"]]
    masses = log_grid(config["limits"]["m_med_MeV"])
    sm_rates, bsm, info = physics_terms(setup, data, models, masses)
    return fold_table(data, sm_rates, bsm, masses, flux_nuisances(config), info)
