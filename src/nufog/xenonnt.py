"""XENONnT 2026 public data releases as :class:`~nufog.datasets.BinnedData` (physics.md sections 4 and 8).

Two releases, each declared by a config section (a dict) plus the release directory (a manifest
*registry* entry, see :mod:`nufog.inputs`); :func:`binned_data_from_config` dispatches on ``kind``.

``kind: xenonnt_s2only`` -- the ionisation-only (S2-only) search, arXiv:2601.11296
(XENONnT/s2_only_data_release). 3 science runs x 7 cS2 bins (``linspace(80, 500, 8)`` PE) = 21 bins,
ordered SR-major (labels ``sr0/cs2_0`` ...). Everything the collaboration's likelihood uses is read
from the release's own ``s2_only_statistical_model.yaml`` (its ``likelihood_config`` sources), so a
release of the same layout is config plus files:

- livetimes ``livetime_sr*`` (t yr; exposure per SR) -- used as the exposures;
- response: ``response/response_nr_tqy_{t}_sr{k}.csv`` (50 NR energies x 7 bins, events per
  (t yr) per unit rate in each energy bin). The collaboration's quadrature (ExampleAnalysis.ipynb):
  a rate per keV times the width of the energy bin around each node, the edges being the midpoints
  between nodes and the outer edges mirrored (:func:`bin_width_weights`). Matrix = exposure x
  response x weight. t_qy = -1/+1 responses are the shape variation ``t_qy`` (all SRs);
- backgrounds: every source except the signal (``wimp``) and ``cevns``, i.e. ``cathode_sr*``,
  ``de_sr*``, ``ae_sr*`` (SR2 has no AE source), from ``data/templates/*_1d.h5`` (events/(t yr) x
  livetime), each with a normal modifier of the yaml's ``*_rate_multiplier`` uncertainty (named
  without the suffix: ``cathode_sr0``...) and, for the cathode, the shape nuisance ``t_sys_sr*``
  (templates at t_sys = -1, +1);
- ``signal_efficiency_sr*`` (11.2 % each; acts on the WIMP and CEvNS sources, so here on every
  neutrino-induced template): per SR, hence a response variation that scales the rows of its SR
  by 1 -/+ sigma (exactly a normal modifier on those bins, with linear or quadratic interpolation);
- observed counts: ``data/real_data.pkl`` (:func:`load_real_data`, restricted unpickler).

Left out: ``cevns_rate_multiplier`` (3.81 %, the SNO 8B flux: the fold step adds nufog's SM CEvNS
with the shared ``flux_8B`` nuisance), the release's ``cevns`` templates (not a background here;
:mod:`nufog.xenonnt_closure` compares with them), the ``wimp`` source and ``wimp_mass`` (signal),
the ``wfsim`` templates (not a source of the yaml), the +-2/3 sigma anchors (nufog interpolates
between -1, 0, +1 and extrapolates linearly), the yaml's fit limits. The response is for nuclear
recoils only (``response.energy == "nr"``): an electron-recoil model cannot use this data set
(:func:`require_energy`).

``kind: xenonnt_2026`` -- the 4-D 8B CEvNS analysis, arXiv:2604.06002 (XENONnT/cevns_data_release):
SR0+SR1+SR2 x 81 bins (cS2, S2 shadow quantile, S1 BDT, S2 BDT; 3 each; templates flattened in
C order) = 243 bins, labels ``sr0/b00`` ... ``sr0/b80``.

- response: mono-energetic NR templates ``templates/sr*/mono/*_mono_{E}_cevns_tly_0.0_tqy_0.0.h5``
  (46 energies 0.5-5.0 keV; detection efficiency per bin) x exposure x the same bin-width weights
  (0.1 keV: each template stands for the energy bin around its energy; ``quadrature: trapezoid``
  is the alternative). ``t_ly`` and ``t_qy``: the tly = +-1 (tqy = 0) and tqy = +-1 (tly = 0)
  templates, as response shape variations;
- backgrounds ``ac``, ``er``, ``rg`` (radiogenic neutrons) in events/(t yr) x exposure, ``rg`` with
  the t_ly/t_qy shape nuisances;
- exposures: SR0 1.174398, SR1 2.342593 t yr (the 2024 light-WIMP yaml), SR2 3.249665 t yr (the
  release's ``plot.ipynb``; 6.77 t yr in total) -- config values;
- normalisation uncertainties (the 2026 release gives none): the 2024 light-WIMP
  ``statistical_model_base.yaml``: ``ac_sr0`` 9.04 %, ``ac_sr1`` 5.76 %, ``er`` 100 %, ``nr`` 58 %
  (on ``rg``), ``signal_efficiency`` 25 % (one, on all neutrino-induced templates). SR2 has no AC
  uncertainty there: ``ac_sr2`` defaults to SR1's 5.76 % (a choice; set it in the config);
  ``b8_rate_multiplier`` (3.81 %) is the fold step's ``flux_8B``;
- observed: ``data/sr{k}.csv`` binned with ``binning/sr{k}.yaml`` (9 + 28 + 25 events).

Config declaration (``nuisances`` and ``exposure_t_yr`` override the release's values)::

    xenonnt_s2only_2026:
      kind: xenonnt_s2only
      release: xenonnt_s2only            # manifest input (registry) holding the release
      science_runs: [sr0, sr1, sr2]
      exposure_t_yr: {}                  # default: the yaml's livetime_sr*
      nuisances: {}                      # e.g. {cathode_sr0: 0.146}; default: the yaml
      nuisance_prefix: ""                # prepended to every nuisance name of the data set
    xenonnt_2026:
      kind: xenonnt_2026
      release: xenonnt_2026
      model: xenonnt_lightwimp_2024      # manifest input with data/statistical_model_base.yaml
      science_runs: [sr0, sr1, sr2]
      exposure_t_yr: {sr0: 1.174398, sr1: 2.342593, sr2: 3.249665}
      quadrature: bin_width              # or trapezoid
      nuisances: {ac_sr2: 0.0576}

``files`` maps manifest input names to their cache paths (a registry entry: its directory or its
stamp file).
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import yaml

from nufog.datasets import BinnedData, Response, trapezoid_weights
from nufog.inputs import REGISTRY_STAMP
from nufog.likelihood import Modifier, Sample

__all__ = [
    "KINDS",
    "binned_data_from_config",
    "s2only_binned_data",
    "xenonnt_2026_binned_data",
    "bin_width_weights",
    "quadrature_weights",
    "load_real_data",
    "read_template",
    "read_cdf_spectrum",
    "s2only_response",
    "mono_efficiency",
    "require_energy",
    "S2ONLY_CS2_EDGES",
    "SR2_LIVETIME_2026",
]

#: cS2 analysis bins of the S2-only search [PE]
S2ONLY_CS2_EDGES = np.linspace(80.0, 500.0, 8)
#: SR2 livetime of the 4-D 8B analysis [t yr] (XENONnT/cevns_data_release plot.ipynb)
SR2_LIVETIME_2026 = 3.249665
FOUR_D_EXPOSURES = {"sr0": 1.174398, "sr1": 2.342593, "sr2": SR2_LIVETIME_2026}
FOUR_D_AXES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")


# --------------------------------------------------------------------------------------- readers
class _ReleaseUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy globals a pickled structured array needs."""

    ALLOWED = {
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a data release pickle")
        if name == "dtype":
            return np.dtype
        return _frombuffer


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    """What numpy's pickled arrays call (protocol 5): an array over a copy of the bytes."""
    return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order)


def load_real_data(path: str | Path) -> dict[str, Any]:
    """The S2-only release's ``real_data.pkl`` (dict SR0/SR1/SR2 of structured arrays, ``ancillary``).

    Read with a restricted unpickler: only ``numpy._core.numeric._frombuffer`` and ``numpy.dtype``
    may be resolved, any other global raises :class:`pickle.UnpicklingError`.
    """
    return _ReleaseUnpickler(io.BytesIO(Path(path).read_bytes())).load()


def read_template(path: str | Path) -> tuple[list[np.ndarray], np.ndarray]:
    """A release template (``bins/0..n-1`` edges, ``templates/template`` values)."""
    with h5py.File(path, "r") as f:
        values = np.asarray(f["templates/template"][()], dtype=float)
        edges = [np.asarray(f[f"bins/{k}"][()], dtype=float) for k in range(values.ndim)]
    return edges, values


def read_cdf_spectrum(path: str | Path, e_keV: np.ndarray) -> np.ndarray:
    """dR/dE [1/(t yr keV)] on ``e_keV`` from a release spectrum json (``map`` = E at CDF points).

    The CDF is piecewise linear between the map points: the rate density of each segment is placed
    at its midpoint and interpolated linearly (zero outside the map).
    """
    spec = json.loads(Path(path).read_text())
    cdf = np.asarray(spec["coordinate_system"], dtype=float)
    e = np.asarray(spec["map"], dtype=float)
    density = float(spec["rate"]) * np.diff(cdf) / np.diff(e)
    mid = 0.5 * (e[1:] + e[:-1])
    return np.interp(np.asarray(e_keV, dtype=float), mid, density, left=0.0, right=0.0)


def bin_width_weights(e_keV: np.ndarray) -> np.ndarray:
    """Widths of the energy bins around the nodes (edges at the midpoints, outer edges mirrored).

    The collaboration's quadrature (ExampleAnalysis.ipynb: rate per keV x bin width per node).

    >>> bin_width_weights(np.array([0.5, 0.6, 0.8])).round(3).tolist()
    [0.1, 0.15, 0.2]
    """
    e = np.asarray(e_keV, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("energy nodes must be an increasing 1-d array with at least two entries")
    mid = 0.5 * (e[1:] + e[:-1])
    edges = np.concatenate([[2 * e[0] - mid[0]], mid, [2 * e[-1] - mid[-1]]])
    return np.diff(edges)


def quadrature_weights(e_keV: np.ndarray, rule: str) -> np.ndarray:
    """``bin_width`` (the collaboration's) or ``trapezoid`` weights on the nodes."""
    if rule == "bin_width":
        return bin_width_weights(e_keV)
    if rule == "trapezoid":
        return trapezoid_weights(e_keV)
    raise ValueError(f"quadrature must be 'bin_width' or 'trapezoid', got {rule!r}")


def s2only_response(root: str | Path, sr: str, t_qy: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(NR energies [keV], response (n_E, 7) [events/(t yr) per unit rate in each energy bin])."""
    df = pd.read_csv(Path(root) / "response" / f"response_nr_tqy_{t_qy:d}_{sr}.csv")
    return df["energy_kev"].to_numpy(float), df.drop(columns="energy_kev").to_numpy(float)


def mono_efficiency(root: str | Path, sr: str, t_ly: float = 0.0, t_qy: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(NR energies [keV], efficiency (n_E, 81)) from the 4-D release's mono-energetic templates."""
    folder = Path(root) / "templates" / sr / "mono"
    suffix = f"_cevns_tly_{t_ly:.1f}_tqy_{t_qy:.1f}.h5"
    found = sorted(folder.glob(f"template_XENONnT_{sr}_mono_*{suffix}"))
    if not found:
        raise FileNotFoundError(f"no mono templates {folder}/*{suffix}")
    energies = np.array([float(p.name.split("_mono_")[1].split("_")[0]) for p in found])
    order = np.argsort(energies)
    eff = np.array([read_template(found[k])[1].ravel() for k in order])
    return energies[order], eff


def require_energy(data: BinnedData, energy: str) -> None:
    """Raise if ``data`` cannot fold a spectrum of recoil kind ``energy`` (``"nr"`` or ``"ee"``)."""
    if data.response.energy != energy:
        raise ValueError(
            f"data set {data.name!r} has a response to {data.response.energy!r} recoils only; a model "
            f"with {energy!r} recoils (e.g. the leptophilic scalar) cannot use it"
        )


def _root(files: Mapping[str, str | Path], name: str) -> Path:
    if name not in files:
        raise KeyError(f"input {name!r} is not among the files given ({sorted(files)})")
    path = Path(files[name])
    return path.parent if path.name == REGISTRY_STAMP else path


#: relative uncertainties from this size on get a log-normal prior: a normal one would allow a zero or
#: negative rate (1 + sigma theta <= 0 within 4 sigma), where a fit then ends on the bound
LOGNORMAL_FROM = 0.25


def _normal(name: str, sigma: float) -> Modifier:
    """Rate modifier of relative uncertainty ``sigma``: normal, or log-normal from LOGNORMAL_FROM on."""
    kind = "lognormal" if sigma >= LOGNORMAL_FROM else "normal"
    return Modifier(name, kind, sigma=float(sigma))


def _padded(values: np.ndarray, k: int, n_per: int, n_bins: int) -> np.ndarray:
    out = np.zeros(n_bins)
    out[k * n_per : (k + 1) * n_per] = np.asarray(values, float).ravel()
    return out


# ------------------------------------------------------------------------------------- S2-only
def s2only_binned_data(name: str, cfg: Mapping[str, Any], root: str | Path) -> BinnedData:
    """The S2-only release as a 21-bin data set (see the module docstring for what is used)."""
    root = Path(root)
    model = yaml.safe_load((root / "s2_only_statistical_model.yaml").read_text())
    params = model["parameter_definition"]
    terms = {t["name"].lower(): t for t in model["likelihood_config"]["likelihood_terms"]}
    srs = list(cfg.get("science_runs", list(terms)))
    prefix = cfg.get("nuisance_prefix", "")
    overrides = dict(cfg.get("nuisances") or {})
    exposures = dict(cfg.get("exposure_t_yr") or {})

    def sigma(param: str) -> float:
        return float(overrides.get(param.removesuffix("_rate_multiplier"), params[param]["uncertainty"]))

    n_per = S2ONLY_CS2_EDGES.size - 1
    n_bins = n_per * len(srs)
    templates = root / "data" / "templates"
    blocks, down_q, up_q, labels, observed = [], [], [], [], []
    backgrounds: list[Sample] = []
    efficiencies: dict[str, list[int]] = {}
    exposure_used: dict[str, float] = {}
    events = load_real_data(root / "data" / "real_data.pkl")
    e_ref = w = None
    for k, sr in enumerate(srs):
        term = terms[sr]
        live = float(exposures.get(sr, params[term["livetime_parameter"]]["nominal_value"]))
        exposure_used[sr] = live
        e, r0 = s2only_response(root, sr, 0)
        if e_ref is None:
            e_ref, w = e, bin_width_weights(e)
        elif not np.allclose(e, e_ref):
            raise ValueError(f"{sr}: response energies differ from the first science run's")
        blocks.append(live * (r0 * w[:, None]).T)
        down_q.append(live * (s2only_response(root, sr, -1)[1] * w[:, None]).T)
        up_q.append(live * (s2only_response(root, sr, +1)[1] * w[:, None]).T)
        labels += [f"{sr}/cs2_{i}" for i in range(n_per)]
        cs2 = np.asarray(events[sr.upper()]["cs2_wo_elifecorr"], float)
        observed.append(np.histogram(cs2, S2ONLY_CS2_EDGES)[0])
        for src in term["sources"]:
            if src["name"] == "wimp":
                continue
            if src["name"] == "cevns":
                if src.get("efficiency_name"):
                    efficiencies.setdefault(src["efficiency_name"], []).extend(range(k * n_per, (k + 1) * n_per))
                continue
            shape_pars = [p for p in src.get("named_parameters", []) if p.startswith("t_")]

            def template(**shift: int) -> np.ndarray:
                fname = src["template_filename"].format(**{**{p: 0 for p in shape_pars}, **shift})  # noqa: B023
                return live * _padded(read_template(templates / fname)[1], k, n_per, n_bins)  # noqa: B023

            mods = [
                _normal(prefix + p.removesuffix("_rate_multiplier"), sigma(p))
                for p in src["parameters"]
                if p.endswith("_rate_multiplier")
            ]
            mods += [Modifier(prefix + p, "shape", down=template(**{p: -1}), up=template(**{p: 1})) for p in shape_pars]
            backgrounds.append(Sample(src["name"], template(), tuple(mods)))
    matrix = np.vstack(blocks)
    variations = {prefix + "t_qy": (np.vstack(down_q), np.vstack(up_q))}
    signal_mods = []
    for eff, rows in efficiencies.items():
        s = float(overrides.get(eff, params[eff]["uncertainty"]))
        if len(rows) == n_bins:
            signal_mods.append(_normal(prefix + eff, s))
            continue
        lo, hi = matrix.copy(), matrix.copy()
        lo[rows] *= 1.0 - s
        hi[rows] *= 1.0 + s
        variations[prefix + eff] = (lo, hi)
    release_cevns = [
        exposure_used[sr]
        * pd.read_csv(root / "data" / f"background_{sr}.csv", index_col=0).loc["cevns"].to_numpy(float)
        for sr in srs
    ]
    return BinnedData(
        name=name,
        label=cfg.get("label", "XENONnT S2-only (2026)"),
        bin_labels=tuple(labels),
        observed=np.concatenate(observed).astype(float),
        response=Response("nr", e_ref, matrix, variations),
        backgrounds=tuple(backgrounds),
        signal_modifiers=tuple(signal_mods),
        exposure_t_yr=float(sum(exposure_used.values())),
        meta={
            "kind": "xenonnt_s2only",
            "energy": "nr (nuclear recoils only: no electron-recoil model)",
            "reference": "XENON, arXiv:2601.11296; XENONnT/s2_only_data_release",
            "licence": "MIT",
            "exposure_t_yr": exposure_used,
            "quadrature": "bin_width",
            "cs2_edges_PE": S2ONLY_CS2_EDGES.tolist(),
            "release_cevns_events": np.concatenate(release_cevns).tolist(),
            "not_used": "cevns_rate_multiplier (the fold step's flux_8B), cevns/wimp/wfsim templates, "
            "the +-2/3 sigma anchors",
        },
    )


# ------------------------------------------------------------------------------- 4-D 8B (2026)
def _lightwimp_sigmas(path: str | Path | None) -> dict[str, float]:
    """Relative rate uncertainties of the 2024 light-WIMP yaml (without the 8B flux)."""
    if path is None:
        return {"ac_sr0": 0.0904, "ac_sr1": 0.0576, "er": 1.0, "nr": 0.58, "signal_efficiency": 0.25}
    params = yaml.safe_load(Path(path).read_text())["parameter_definition"]
    return {
        key.removesuffix("_rate_multiplier"): float(p["uncertainty"])
        for key, p in params.items()
        if p.get("uncertainty") is not None and p.get("ptype") in ("rate", "efficiency") and key != "b8_rate_multiplier"
    }


def xenonnt_2026_binned_data(
    name: str, cfg: Mapping[str, Any], root: str | Path, model_yaml: str | Path | None = None
) -> BinnedData:
    """The 4-D 8B release as a 3 x 81-bin data set (see the module docstring)."""
    root = Path(root)
    srs = list(cfg.get("science_runs", ["sr0", "sr1", "sr2"]))
    exposures = {**FOUR_D_EXPOSURES, **dict(cfg.get("exposure_t_yr") or {})}
    sig = _lightwimp_sigmas(model_yaml)
    sig.setdefault("ac_sr2", sig["ac_sr1"])
    sig.update({k: float(v) for k, v in dict(cfg.get("nuisances") or {}).items()})
    prefix = cfg.get("nuisance_prefix", "")
    rule = cfg.get("quadrature", "bin_width")
    n_per = 81
    n_bins = n_per * len(srs)
    anchors = {"nom": (0.0, 0.0), "ly-": (-1.0, 0.0), "ly+": (1.0, 0.0), "qy-": (0.0, -1.0), "qy+": (0.0, 1.0)}
    blocks: dict[str, list[np.ndarray]] = {a: [] for a in anchors}
    rg = {a: np.zeros(n_bins) for a in anchors}
    bkg: dict[str, np.ndarray] = {}
    labels, observed = [], []
    e_ref = w = None
    for k, sr in enumerate(srs):
        live = float(exposures[sr])
        for a, (tly, tqy) in anchors.items():
            e, eff = mono_efficiency(root, sr, tly, tqy)
            if e_ref is None:
                e_ref, w = e, quadrature_weights(e, rule)
            elif not np.allclose(e, e_ref):
                raise ValueError(f"{sr}: mono-template energies differ from the first science run's")
            blocks[a].append(live * (eff * w[:, None]).T)
            path = root / "templates" / sr / "rg" / f"template_XENONnT_{sr}_rg_cevns_tly_{tly:.1f}_tqy_{tqy:.1f}.h5"
            rg[a] += live * _padded(read_template(path)[1], k, n_per, n_bins)
        for comp in ("ac", "er"):
            values = read_template(root / "templates" / sr / comp / f"template_XENONnT_{sr}_{comp}_cevns.h5")[1]
            key = f"ac_{sr}" if comp == "ac" else "er"
            bkg[key] = bkg.get(key, np.zeros(n_bins)) + live * _padded(values, k, n_per, n_bins)
        labels += [f"{sr}/b{i:02d}" for i in range(n_per)]
        observed.append(_bin_4d(root, sr))
    variations = {
        prefix + "t_ly": (np.vstack(blocks["ly-"]), np.vstack(blocks["ly+"])),
        prefix + "t_qy": (np.vstack(blocks["qy-"]), np.vstack(blocks["qy+"])),
    }
    backgrounds = [Sample(key, values, (_normal(prefix + key, sig[key]),)) for key, values in bkg.items()]
    rg_mods = (
        _normal(prefix + "nr", sig["nr"]),
        Modifier(prefix + "t_ly", "shape", down=rg["ly-"], up=rg["ly+"]),
        Modifier(prefix + "t_qy", "shape", down=rg["qy-"], up=rg["qy+"]),
    )
    backgrounds.append(Sample("rg", rg["nom"], rg_mods))
    used = {s: float(exposures[s]) for s in srs}
    return BinnedData(
        name=name,
        label=cfg.get("label", "XENONnT 8B CEvNS (2026, 4-D)"),
        bin_labels=tuple(labels),
        observed=np.concatenate(observed),
        response=Response("nr", e_ref, np.vstack(blocks["nom"]), variations),
        backgrounds=tuple(backgrounds),
        signal_modifiers=(_normal(prefix + "signal_efficiency", sig["signal_efficiency"]),),
        exposure_t_yr=float(sum(used.values())),
        meta={
            "kind": "xenonnt_2026",
            "energy": "nr (nuclear recoils only)",
            "reference": "XENON, arXiv:2604.06002; XENONnT/cevns_data_release (doi:10.5281/zenodo.20576156)",
            "licence": "CC-BY-4.0",
            "exposure_t_yr": used,
            "quadrature": rule,
            "nuisance_sigmas": {k: sig[k] for k in sorted(sig)},
            "nuisance_source": "2024 light-WIMP statistical_model_base.yaml; ac_sr2 = ac_sr1 unless configured",
        },
    )


def _bin_4d(root: Path, sr: str) -> np.ndarray:
    edges = yaml.safe_load((root / "binning" / f"{sr}.yaml").read_text())
    df = pd.read_csv(root / "data" / f"{sr}.csv", index_col=0)
    counts, _ = np.histogramdd(
        df[list(FOUR_D_AXES)].to_numpy(float), bins=[np.asarray(edges[a], float) for a in FOUR_D_AXES]
    )
    if counts.sum() != len(df):
        raise ValueError(f"{sr}: {len(df) - int(counts.sum())} events fall outside the release's binning")
    return counts.ravel()


# ------------------------------------------------------------------------------------ dispatch
KINDS = ("xenonnt_s2only", "xenonnt_2026")


def binned_data_from_config(name: str, cfg: Mapping[str, Any], files: Mapping[str, str | Path]) -> BinnedData:
    """Build the data set ``name`` from its config section and the inputs it names (module docstring)."""
    kind = cfg.get("kind")
    if kind == "xenonnt_s2only":
        return s2only_binned_data(name, cfg, _root(files, cfg.get("release", "xenonnt_s2only")))
    if kind == "xenonnt_2026":
        model = cfg.get("model", "xenonnt_lightwimp_2024")
        model_yaml = _root(files, model) / "data" / "statistical_model_base.yaml" if model else None
        return xenonnt_2026_binned_data(name, cfg, _root(files, cfg.get("release", "xenonnt_2026")), model_yaml)
    raise ValueError(f"data set {name!r}: kind must be one of {KINDS}, got {kind!r}")
