"""Limit curves as a HEPData record (https://hepdata.net/submission): one YAML data table per
limit file and a ``submission.yaml`` listing them.

A data table has one independent variable (the mediator mass, MeV) and one dependent variable per
curve: the observed limit and, when the limit file has them, the expected median and the ±1σ/±2σ
edges of the expected band (columns ``expected_median``, ``expected_minus1``, ``expected_plus1``,
``expected_minus2``, ``expected_plus2``). Each dependent variable carries qualifiers: the CL, the
model and its coupling definition, the data set, the statistical method and the nuisance parameters
profiled (from the limit file's metadata; a file without them gets neither). The description cites the
public data releases a limit is read from. Points whose fit failed (``fit_ok`` false) or that have no
limit are written as ``"-"``, HEPData's mark for a missing value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "COUPLING_DEFINITIONS",
    "EXPECTED_COLUMNS",
    "coupling_definition",
    "data_table",
    "method_description",
    "submission_entry",
    "dump_submission",
    "dump_table",
]

#: expected-limit columns of a limit file and their HEPData names
EXPECTED_COLUMNS = {
    "expected_median": "expected median",
    "expected_minus1": "expected -1 sigma",
    "expected_plus1": "expected +1 sigma",
    "expected_minus2": "expected -2 sigma",
    "expected_plus2": "expected +2 sigma",
}

#: coupling product and its definition per model kind (physics.md section 3)
COUPLING_DEFINITIONS = {
    "universal_scalar": (
        "g_nu g_q",
        "g_nu g_q, scalar mediator with a universal coupling g_q to quarks (u, d, s, c, b, t) and g_nu to neutrinos",
    ),
    "higgs_scalar": (
        "g_nu g_phi",
        "g_nu g_phi, Higgs-like scalar mediator: quark couplings g_q = g_phi m_q / v, g_nu to neutrinos",
    ),
    "universal_vector": (
        "|g_nu g_q|",
        "|g_nu g_q|, vector mediator with a universal coupling g_q to quarks and g_nu to left-handed neutrinos",
    ),
    "leptophilic_scalar": (
        "g_nu g_e",
        "g_nu g_e, leptophilic scalar mediator coupling g_e to electrons and g_nu to neutrinos",
    ),
}


def coupling_definition(kind: str, coupling_sign: float | None = None) -> tuple[str, str]:
    """(name, definition) of the coupling product of a model kind; the vector's states its interference.

    >>> coupling_definition("universal_vector", -1.0)[1].endswith("(constructive interference with the SM)")
    True
    """
    name, text = COUPLING_DEFINITIONS.get(kind, ("coupling product", f"coupling product of the {kind} model"))
    if kind == "universal_vector" and coupling_sign is not None:
        text += f" ({'constructive' if coupling_sign < 0 else 'destructive'} interference with the SM)"
    return name, text


def method_description(meta: Mapping[str, Any]) -> str | None:
    """The limit-setting method of a limit file's metadata (``limits.method`` and its options), or None.

    >>> method_description({"method": "cls", "cls_mode": "toys", "toys": {"n": 2000, "seed": 1}})
    'CLs (toy Monte Carlo, 2000 toys per tested coupling, seed 1)'
    """
    method = meta.get("method")
    if method == "wilks":
        text = "profile likelihood ratio, Wilks' asymptotic threshold"
        reference = {"best_fit": "best fit", "background_only": "background only"}.get(meta.get("reference"))
        return f"{text} (reference: {reference})" if reference else text
    if method == "cls":
        if meta.get("cls_mode") == "toys" and meta.get("toys"):
            return f"CLs (toy Monte Carlo, {meta['toys']['n']} toys per tested coupling, seed {meta['toys']['seed']})"
        return "CLs (exact Poisson for one-bin data sets without nuisances, else asymptotic: Cowan et al. 2011)"
    if method == "feldman_cousins":
        return (
            "Feldman-Cousins (likelihood-ratio ordering; exact Neyman construction for one-bin data sets "
            "without nuisances, else asymptotic)"
        )
    return None


def _nuisances(meta: Mapping[str, Any]) -> str:
    """The nuisance parameters a limit file profiled, as text."""
    return ", ".join(meta.get("nuisances") or []) or "none"


def _value(x: Any, digits: int = 6) -> float | str:
    """A YAML value: a float with ``digits`` significant digits, or "-" for a missing one."""
    x = float(x)
    if not math.isfinite(x):
        return "-"
    return float(f"{x:.{digits}g}")


def data_table(df: pd.DataFrame, meta: Mapping[str, Any], kind: str | None = None) -> dict[str, Any]:
    """HEPData data table (``independent_variables``, ``dependent_variables``) of one limit file.

    ``df``, ``meta`` as returned by :func:`nufog.io.read_table`; ``kind`` is the model kind
    (default: ``meta["model"]``).
    """
    kind = kind or meta["model"]
    name, definition = coupling_definition(kind, meta.get("coupling_sign"))
    ok = df["fit_ok"].to_numpy(dtype=bool) if "fit_ok" in df else np.ones(len(df), dtype=bool)
    qualifiers = [
        {"name": "CL", "value": f"{100 * float(meta['cl']):g}%"},
        {"name": "model", "value": str(meta.get("model_label") or meta["model"])},
        {"name": "coupling", "value": definition},
        {"name": "data set", "value": str(meta.get("experiment_label") or meta["experiment"])},
    ]
    method = method_description(meta)
    if method is not None:
        qualifiers.append({"name": "statistical method", "value": method})
        qualifiers.append({"name": "nuisance parameters", "value": _nuisances(meta)})
    curves = {"coupling_limit": "observed"} | {c: n for c, n in EXPECTED_COLUMNS.items() if c in df}
    dependent = []
    for column, label in curves.items():
        values = np.where(ok, df[column].to_numpy(dtype=float), np.nan)
        dependent.append(
            {
                "header": {"name": f"{name} upper limit, {label}"},
                "qualifiers": [*qualifiers, {"name": "limit", "value": label}],
                "values": [{"value": _value(v)} for v in values],
            }
        )
    return {
        "independent_variables": [
            {
                "header": {"name": "mediator mass", "units": "MeV"},
                "values": [{"value": _value(m)} for m in df["m_med_MeV"]],
            }
        ],
        "dependent_variables": dependent,
    }


#: the scattering process a model kind is constrained by
PROCESS_PHRASES = {"leptophilic_scalar": "Neutrino-electron scattering"}


def submission_entry(
    data_file: str, meta: Mapping[str, Any], table: Mapping[str, Any], kind: str | None = None
) -> dict[str, Any]:
    """The ``submission.yaml`` document of one data table."""
    process = PROCESS_PHRASES.get(kind or meta["model"], "Coherent elastic neutrino-nucleus scattering")
    model = str(meta.get("model_label") or meta["model"])
    dataset = str(meta.get("experiment_label") or meta["experiment"])
    curves = ", ".join(d["qualifiers"][-1]["value"] for d in table["dependent_variables"])
    coupling = table["dependent_variables"][0]["qualifiers"][2]["value"]
    method = method_description(meta)
    how = f" Method: {method}; nuisance parameters profiled: {_nuisances(meta)}." if method else ""
    sources = meta.get("references") or {}
    data = f" Data: {'; '.join(dict.fromkeys(sources.values()))}." if sources else ""  # each source once
    return {
        "name": f"{model}, {dataset}"[:64],
        "description": (
            f"Upper limit at {100 * float(meta['cl']):g}% CL on the coupling product versus the mediator mass, "
            f"{model} mediator, {dataset} data ({curves}). Coupling: {coupling}.{how}{data}"
        ),
        "keywords": [
            {"name": "observables", "values": ["LIMIT"]},
            {
                "name": "phrases",
                "values": ["Neutrino", "Light mediator", process],
            },
        ],
        "data_file": data_file,
    }


#: libyaml's emitter when PyYAML was built with it (same text, ~10x faster on the 200-row tables)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_table(table: Mapping[str, Any]) -> str:
    """YAML text of a data table (block style, key order kept)."""
    return yaml.dump(dict(table), Dumper=_DUMPER, sort_keys=False, default_flow_style=None, width=120)


def dump_submission(entries: Iterable[Mapping[str, Any]], comment: str) -> str:
    """``submission.yaml``: a first document with the record comment, then one document per table."""
    docs = [{"comment": comment}, *[dict(e) for e in entries]]
    return yaml.dump_all(docs, Dumper=_DUMPER, sort_keys=False, explicit_start=True, width=120)
