"""Configuration: JSON-schema validation with defaults, plus the checks a schema cannot express.

Errors name the offending key as a dotted path and say what is allowed, e.g.::

    config key 'grids.e_nr_keV.min': -1 is not allowed: must be > 0

The workflow calls :func:`validate_config` in ``workflow/rules/common.smk`` before any job runs.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from nufog.configfile import ConfigError, check_config_files, read_config_file

if TYPE_CHECKING:  # imported where a config is validated: jobs that only need log_grid skip it (~0.1 s)
    import jsonschema

__all__ = [
    "ConfigError",
    "validate_config",
    "load_config",
    "read_config_file",
    "check_config_files",
    "log_grid",
    "SCHEMA_PATH",
]

#: Schema shipped as package data (src/nufog/schemas/), so any install, editable or not, finds it.
SCHEMA_PATH: Traversable = files("nufog") / "schemas" / "config.schema.yaml"


@cache
def _filling_validator():
    """jsonschema's Draft 2020-12 validator that fills ``default`` values (the recipe in the jsonschema FAQ)."""
    import jsonschema

    validator_class = jsonschema.Draft202012Validator
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


#: What a pattern-checked key allows, in words (appended to the regular expression in messages)
_PATTERN_HINTS = {
    "run": "a folder name under results/: letters, digits, '_', '.', '-', starting with a letter or digit",
}


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    v, value = error.validator, error.validator_value
    allowed = {
        "exclusiveMinimum": f"must be > {value}",
        "minimum": f"must be >= {value}",
        "maximum": f"must be <= {value}",
        "exclusiveMaximum": f"must be < {value}",
        "enum": f"must be one of {value}",
        "type": f"must be of type {value}",
        "minItems": f"needs at least {value} item(s)",
        "maxItems": f"takes at most {value} item(s)",
        "uniqueItems": "items must be unique",
        "required": f"required keys: {value}",
        "pattern": f"must match {value}",
    }
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = sorted(error.schema.get("properties", {}))
        prefix = f"{key}." if error.absolute_path else ""
        return (
            f"config key {', '.join(repr(prefix + e) for e in extra)} is not a known key "
            f"(misspelled?); allowed keys here: {known}"
        )
    if v == "required":
        return f"config section '{key}' lacks {error.message.split(' is a required')[0]}"
    hint = allowed.get(v, error.message)
    if v == "pattern" and key in _PATTERN_HINTS:
        hint += f" ({_PATTERN_HINTS[key]})"
    return f"config key '{key}': {error.instance!r} is not allowed: {hint}"


def validate_config(config: dict[str, Any], schema_path: str | Path | Traversable = SCHEMA_PATH) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it.

    Raises :class:`ConfigError` listing every problem, one per line.
    """
    schema = yaml.safe_load((Path(schema_path) if isinstance(schema_path, str) else schema_path).read_text())
    removed = _drop_removed(config)
    messages = _non_finite(config)
    errors = sorted(_filling_validator()(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    messages += [_describe(e) for e in errors if not _is_non_finite(e.instance)]
    if not messages:
        messages = _semantic_checks(config, removed)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return config


#: sections of named entries where a layered config file removes an entry by setting it to null
#: (`experiments: {xenonnt_2026: null}`): Snakemake's merge replaces the entry by None, and it is dropped here
REMOVABLE = ("experiments", "combinations")


def _drop_removed(config: dict[str, Any]) -> dict[str, str]:
    """Delete the null entries of the :data:`REMOVABLE` sections in place; returns {name: section}."""
    removed = {}
    for section in REMOVABLE:
        entries = config.get(section)
        if isinstance(entries, dict):
            for name in [k for k, v in entries.items() if v is None]:
                del entries[name]
                removed[name] = section
    return removed


def _undefined(key: str, name: str, section: str, removed: Mapping[str, str]) -> str:
    """Message for a reference ``key`` to ``name``, which ``section`` lacks (or a config file removed)."""
    message = f"config key '{key}': {name!r} is not defined under '{section}'"
    if removed.get(name) == section:
        message += f" (a config file removed it with `{section}.{name}: null`: take it out here too)"
    return message


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _non_finite(node: Any, key: str = "") -> list[str]:
    """Every NaN or infinite number (YAML ``.nan``, ``.inf``): they slip through ``minimum`` and
    ``min < max`` checks (every comparison with NaN is false), so they are rejected first."""
    if isinstance(node, Mapping):
        return [m for k, v in node.items() for m in _non_finite(v, f"{key}.{k}" if key else str(k))]
    if isinstance(node, (list, tuple)):
        return [m for i, v in enumerate(node) for m in _non_finite(v, f"{key}[{i}]")]
    if _is_non_finite(node):
        return [f"config key '{key}': {node!r} is not allowed: numbers must be finite"]
    return []


def _semantic_checks(config: Mapping[str, Any], removed: Mapping[str, str] | None = None) -> list[str]:
    """Cross-key rules the schema cannot state (``removed``: {name: section} of entries set to null)."""
    out = []
    for name, grid in config.get("grids", {}).items():
        if grid["min"] >= grid["max"]:
            out.append(f"config key 'grids.{name}': min ({grid['min']}) must be below max ({grid['max']})")
    isotopes = config.get("xenon", {}).get("isotopes", [])
    if isotopes:
        total = sum(i["abundance"] for i in isotopes)
        if abs(total - 1.0) > 0.01:
            out.append(f"config key 'xenon.isotopes': abundances sum to {total:.4f}, expected 1 (+-0.01)")
        for i in isotopes:
            if i["Z"] >= i["A"]:
                out.append(f"config key 'xenon.isotopes': A={i['A']} must exceed Z={i['Z']}")
    out += _extra_checks(config, removed or {})
    out += _coverage_checks(config)
    out += _size_checks(config)
    return out


_MODEL_KINDS = ("universal_scalar", "higgs_scalar", "universal_vector", "leptophilic_scalar")
_EFFICIENCY_KEYS = {"table": ("input",), "erf": ("center_keV", "width_keV"), "step": ("threshold_keV",)}


def _extra_checks(config: Mapping[str, Any], removed: Mapping[str, str]) -> list[str]:
    """Experiments, models, limits and benchmarks: references between sections must resolve."""
    out = []
    experiments = config.get("experiments", {})
    for name, exp in experiments.items():
        key = f"experiments.{name}"
        if exp.get("kind") == "coherent_csi" and not config.get("coherent"):
            out.append(f"config key '{key}': kind coherent_csi needs the 'coherent' section")
        if exp.get("kind", "counting") != "counting":
            continue
        if exp.get("counts", "paper") not in exp["count_sets"]:
            out.append(
                f"config key '{key}.counts': {exp.get('counts')!r} is not one of count_sets {sorted(exp['count_sets'])}"
            )
        for set_name, counts in exp["count_sets"].items():
            if (counts["observed"] is None) != (counts["background"] is None):
                out.append(
                    f"config key '{key}.count_sets.{set_name}': give observed and background, or both null (projection)"
                )
        eff = exp["efficiency"]
        for needed in _EFFICIENCY_KEYS[eff["kind"]]:
            if needed not in eff:
                out.append(f"config key '{key}.efficiency.{needed}' is required for kind {eff['kind']!r}")
        lo, hi = eff["roi_keV"]
        if not lo < hi:
            out.append(f"config key '{key}.efficiency.roi_keV': min ({lo}) must be below max ({hi})")
        elif eff["kind"] == "step" and "threshold_keV" in eff and eff["threshold_keV"] >= hi:
            out.append(
                f"config key '{key}.efficiency.threshold_keV': {eff['threshold_keV']} keV lies at or above the "
                f"top of '{key}.efficiency.roi_keV' ({hi} keV), so the experiment sees nothing: "
                "the threshold must be below the ROI's upper edge"
            )
        elif eff["kind"] == "erf" and {"center_keV", "width_keV"} <= set(eff):
            if eff["center_keV"] - ERF_REACH * eff["width_keV"] >= hi:
                out.append(
                    f"config key '{key}.efficiency.center_keV': the turn-on ({eff['center_keV']} keV, width "
                    f"{eff['width_keV']} keV) lies above the top of '{key}.efficiency.roi_keV' ({hi} keV), "
                    "so the experiment sees nothing: the centre must be below the ROI's upper edge"
                )
        if eff["kind"] in ("erf", "step"):
            peak = eff.get("scale", 1.0) * (eff.get("plateau", 1.0) if eff["kind"] == "erf" else 1.0)
            if peak > 1.0:
                out.append(
                    f"config key '{key}.efficiency.scale': {eff.get('scale', 1.0)} makes the peak efficiency "
                    f"{peak:.3g} > 1: scale x plateau must be <= 1"
                )
    for name, model in config.get("models", {}).items():
        kind = model.get("kind", name)
        if kind not in _MODEL_KINDS:
            out.append(f"config key 'models.{name}': unknown model; set kind to one of {list(_MODEL_KINDS)}")
        for exp_name in model["experiments"]:
            if exp_name not in experiments:
                out.append(_undefined(f"models.{name}.experiments", exp_name, "experiments", removed))
            elif kind == "leptophilic_scalar" and experiments[exp_name].get("kind", "counting") != "counting":
                out.append(
                    f"config key 'models.{name}.experiments': {exp_name!r} is a XENONnT release with a "
                    "nuclear-recoil response only: an electron-recoil model cannot use it"
                )
            elif kind == "leptophilic_scalar" and not experiments[exp_name].get("electron_recoils", False):
                out.append(
                    f"config key 'models.{name}.experiments': {exp_name!r} rejects electron recoils "
                    f"(experiments.{exp_name}.electron_recoils is false)"
                )
    for name, comb in (config.get("combinations") or {}).items():
        if name in experiments:
            out.append(f"config key 'combinations.{name}': the name is already a data set under 'experiments'")
        for exp_name in comb["datasets"]:
            if exp_name not in experiments:
                out.append(_undefined(f"combinations.{name}.datasets", exp_name, "experiments", removed))
    limits = config.get("limits") or {}
    for name, grid in limits.items():
        if isinstance(grid, Mapping) and {"min", "max", "n"} <= set(grid) and grid["min"] >= grid["max"]:
            out.append(f"config key 'limits.{name}': min ({grid['min']}) must be below max ({grid['max']})")
    coherent = config.get("coherent") or {}
    for name in coherent.get("models", []):
        if name not in config.get("models", {}):
            out.append(_undefined("coherent.models", name, "models", removed))
        elif config["models"][name].get("kind", name) == "leptophilic_scalar":
            out.append(f"config key 'coherent.models': {name!r} does not couple to quarks (CsI sees nuclear recoils)")
    for axis, grid in (coherent.get("nsi") or {}).items():
        if grid["min"] >= grid["max"]:
            out.append(f"config key 'coherent.nsi.{axis}': min ({grid['min']}) must be below max ({grid['max']})")
    edges = coherent.get("t_edges_us")
    if edges is not None and any(b <= a for a, b in zip(edges, edges[1:])):
        out.append("config key 'coherent.t_edges_us': edges must increase")
    pe = coherent.get("pe_edges")
    if pe is not None and pe["min"] + pe["step"] > pe["max"]:
        out.append("config key 'coherent.pe_edges': need at least one bin (min + step <= max)")
    for name, bench in (config.get("benchmarks") or {}).items():
        if bench["model"] not in config.get("models", {}):
            out.append(_undefined(f"benchmarks.{name}.model", bench["model"], "models", removed))
        grid = (config.get("limits") or {}).get("m_med_MeV")
        if grid and not grid["min"] <= bench["m_med_MeV"] <= grid["max"]:  # Table 1 reads the fold's mass grid
            out.append(
                f"config key 'benchmarks.{name}.m_med_MeV': {bench['m_med_MeV']!r} MeV lies outside the mass grid "
                f"limits.m_med_MeV [{grid['min']}, {grid['max']}] MeV; widen the grid or move the benchmark"
            )
    return out


#: An erf turn-on is taken as zero ERF_REACH widths below its centre (Phi(-3) = 0.13 %).
ERF_REACH = 3.0


def _sensitive_range_nr(eff: Mapping[str, Any]) -> tuple[float, float]:
    """Recoil energies [keV_nr] where an efficiency section can be non-zero: the ROI, cut from
    below by a step threshold or an erf turn-on (ERF_REACH widths below its centre)."""
    lo, hi = (float(x) for x in eff["roi_keV"])
    if eff["kind"] == "step" and "threshold_keV" in eff:
        lo = max(lo, float(eff["threshold_keV"]))
    elif eff["kind"] == "erf" and {"center_keV", "width_keV"} <= set(eff):
        lo = max(lo, float(eff["center_keV"]) - ERF_REACH * float(eff["width_keV"]))
    return lo, hi


def _coverage_checks(config: Mapping[str, Any]) -> list[str]:
    """The folding grids ``limits.e_nr_keV`` / ``limits.e_ee_keV`` must span every experiment's ROI
    (from its threshold up): a grid that stops inside a ROI silently drops events."""
    limits = config.get("limits") or {}
    if not {"e_nr_keV", "e_ee_keV"} <= set(limits):
        return []
    from nufog.quenching import from_config as quenching_from_config

    try:
        quench = quenching_from_config(limits.get("ee_quenching") or {"model": "lindhard"})
    except (ValueError, TypeError):
        return []  # reported by the schema
    out = []
    for name, exp in (config.get("experiments") or {}).items():
        if exp.get("kind", "counting") != "counting":
            continue  # a release brings its own energy nodes (its response), not the folding grids
        eff = exp["efficiency"]
        lo, hi = _sensitive_range_nr(eff)
        if not lo < hi:
            continue  # reported above (threshold beyond the ROI)
        roi = f"'experiments.{name}.efficiency.roi_keV'"
        grids = [("e_nr_keV", lo, hi, "keV_nr")]
        if exp.get("electron_recoils", False):
            lo_ee, hi_ee = (float(x) for x in quench.to_ee(np.array([lo, hi])))
            grids.append(("e_ee_keV", lo_ee, hi_ee, "keV_ee"))
        for grid_name, need_lo, need_hi, unit in grids:
            g = limits[grid_name]
            if g["min"] > need_lo * (1 + 1e-9) or g["max"] < need_hi * (1 - 1e-9):
                out.append(
                    f"config key 'limits.{grid_name}' ({g['min']:g}-{g['max']:g} {unit}) does not cover {roi} "
                    f"of experiment {name!r}, which needs {need_lo:.4g}-{need_hi:.4g} {unit}: "
                    f"lower limits.{grid_name}.min or raise limits.{grid_name}.max"
                )
    return out


def available_memory_bytes() -> int | None:
    """Physical memory of this machine (``os.sysconf``), or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


#: float64 values per mediator mass alive in a fold or limit job: the coarse bracket scan of the limit
#: search (56 couplings) over at most ~256 analysis bins, with the fold table's rows (models x terms x
#: shape variations); the folding holds MASS_BLOCK x n_E terms.
MASS_ARRAYS = 64 * 256
FOLD_ARRAYS = 4 * 128 + 3 * 81


def _size_checks(config: Mapping[str, Any], memory: int | None = None) -> list[str]:
    """Reject grids whose arrays cannot fit in this machine's memory (before a job allocates them)."""
    memory = available_memory_bytes() if memory is None else memory
    limits = config.get("limits") or {}
    if memory is None:
        return []
    gib = 2.0**30
    out = []
    if "m_med_MeV" in limits:
        n_m = int(limits["m_med_MeV"]["n"])
        need = 8 * MASS_ARRAYS * n_m
        if need > memory:
            out.append(
                f"config key 'limits.m_med_MeV.n' ({n_m}): the fold and limit jobs need about {need / gib:.3g} GiB, "
                f"more than this machine's {memory / gib:.3g} GiB: use fewer masses"
            )
    for grid_name in ("e_nr_keV", "e_ee_keV"):
        if grid_name in limits:
            n_e = int(limits[grid_name]["n"])
            need = 8 * FOLD_ARRAYS * n_e
            if need > memory:
                out.append(
                    f"config key 'limits.{grid_name}.n' ({n_e}): the folding needs about {need / gib:.3g} GiB, "
                    f"more than this machine's {memory / gib:.3g} GiB: use fewer points"
                )
    return out


def load_config(path: str | Path, schema_path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """Read a YAML config file (strictly: see :func:`read_config_file`) and validate it."""
    return validate_config(read_config_file(path), schema_path)


def log_grid(spec: Mapping[str, Any]) -> np.ndarray:
    """The log-spaced grid of a ``{min, max, n}`` config entry.

    >>> log_grid({"min": 1.0, "max": 100.0, "n": 3}).tolist()
    [1.0, 10.0, 100.0]
    """
    return np.geomspace(float(spec["min"]), float(spec["max"]), int(spec["n"]))
