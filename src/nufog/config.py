"""Configuration: JSON-schema validation with defaults, plus the checks a schema cannot express.

Errors name the offending key as a dotted path and say what is allowed, e.g.::

    config key 'grids.e_nr_keV.min': -1 is not allowed: must be > 0

The workflow calls :func:`validate_config` in ``workflow/rules/common.smk`` before any job runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

__all__ = ["ConfigError", "validate_config", "load_config", "log_grid", "SCHEMA_PATH"]

#: Schema shipped as package data (src/nufog/schemas/), so any install, editable or not, finds it.
SCHEMA_PATH: Traversable = files("nufog") / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """Invalid configuration; the message names the key and the allowed values."""


def _with_defaults(validator_class):
    """jsonschema validator that fills ``default`` values (the recipe in the jsonschema FAQ)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_FILLING_VALIDATOR = _with_defaults(jsonschema.Draft202012Validator)


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
    return f"config key '{key}': {error.instance!r} is not allowed: {hint}"


def validate_config(config: dict[str, Any], schema_path: str | Path | Traversable = SCHEMA_PATH) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it.

    Raises :class:`ConfigError` listing every problem, one per line.
    """
    schema = yaml.safe_load((Path(schema_path) if isinstance(schema_path, str) else schema_path).read_text())
    errors = sorted(_FILLING_VALIDATOR(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    messages = [_describe(e) for e in errors]
    if not messages:
        messages = _semantic_checks(config)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return config


def _semantic_checks(config: Mapping[str, Any]) -> list[str]:
    """Cross-key rules the schema cannot state."""
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
    out += _extra_checks(config)
    return out


_MODEL_KINDS = ("universal_scalar", "higgs_scalar", "universal_vector", "leptophilic_scalar")
_EFFICIENCY_KEYS = {"table": ("input",), "erf": ("center_keV", "width_keV"), "step": ("threshold_keV",)}


def _extra_checks(config: Mapping[str, Any]) -> list[str]:
    """Experiments, models, limits and benchmarks: references between sections must resolve."""
    out = []
    experiments = config.get("experiments", {})
    for name, exp in experiments.items():
        key = f"experiments.{name}"
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
    for name, model in config.get("models", {}).items():
        kind = model.get("kind", name)
        if kind not in _MODEL_KINDS:
            out.append(f"config key 'models.{name}': unknown model; set kind to one of {list(_MODEL_KINDS)}")
        for exp_name in model["experiments"]:
            if exp_name not in experiments:
                out.append(f"config key 'models.{name}.experiments': {exp_name!r} is not defined under 'experiments'")
            elif kind == "leptophilic_scalar" and not experiments[exp_name].get("electron_recoils", False):
                out.append(
                    f"config key 'models.{name}.experiments': {exp_name!r} rejects electron recoils "
                    f"(experiments.{exp_name}.electron_recoils is false)"
                )
        lo, hi = model["coupling_range"]
        if not lo < hi:
            out.append(f"config key 'models.{name}.coupling_range': min ({lo}) must be below max ({hi})")
    for name, grid in (config.get("limits") or {}).items():
        if isinstance(grid, Mapping) and {"min", "max", "n"} <= set(grid) and grid["min"] >= grid["max"]:
            out.append(f"config key 'limits.{name}': min ({grid['min']}) must be below max ({grid['max']})")
    coherent = config.get("coherent") or {}
    for name in coherent.get("models", []):
        if name not in config.get("models", {}):
            out.append(f"config key 'coherent.models': {name!r} is not defined under 'models'")
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
            out.append(f"config key 'benchmarks.{name}.model': {bench['model']!r} is not defined under 'models'")
    return out


def load_config(path: str | Path, schema_path: str | Path | Traversable = SCHEMA_PATH) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    config = yaml.safe_load(Path(path).read_text()) or {}
    return validate_config(config, schema_path)


def log_grid(spec: Mapping[str, Any]) -> np.ndarray:
    """The log-spaced grid of a ``{min, max, n}`` config entry.

    >>> log_grid({"min": 1.0, "max": 100.0, "n": 3}).tolist()
    [1.0, 10.0, 100.0]
    """
    return np.geomspace(float(spec["min"]), float(spec["max"]), int(spec["n"]))
