"""Fold artifacts: expected events per analysis bin for every template of a data set (issue 8, section 1).

The fold step turns a :class:`~nufog.datasets.BinnedData` and the physics (SM rates and the mediator terms
on the response's energy nodes, per flux group) into one long table, written to
``results/{run}/fold/{dataset}.parquet``:

=============  ===========================================================================================
column         meaning
=============  ===========================================================================================
``component``  sample or signal name: a background (``cathode_sr0``), ``sm_cevns_<group>``, ``bsm_<group>``
``kind``       ``background``, ``sm`` (SM neutrino-induced), ``lin`` / ``quad`` (coefficients of G, G^2)
``model``      mediator model key for ``lin``/``quad`` rows, else empty
``m_med_MeV``  mediator mass for ``lin``/``quad`` rows, else NaN
``variation``  ``nominal``, or ``<nuisance>/down`` and ``<nuisance>/up`` (templates at -1 and +1 sigma)
``bin``        analysis-bin index
``events``     expected events in the bin (``lin``: per unit G, ``quad``: per unit G^2)
=============  ===========================================================================================

The metadata carries the observed counts, the bin labels, the normalisation modifiers of every component,
the free nuisances and the models' coupling signs. :func:`dataset_from_fold` rebuilds the likelihood
:class:`~nufog.likelihood.Dataset` of one model from it: limit jobs read nothing else.

Flux groups: the ``flux_8B`` nuisance scales every template induced by 8B neutrinos, SM and new physics
alike (physics.md section 8); the other solar components (hep, pp, 7Be, CNO) form the group ``other``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nufog import io
from nufog.datasets import BinnedData, Response
from nufog.likelihood import Dataset, Modifier, Sample, Signal

if TYPE_CHECKING:  # pandas only where a table is made: a limit job reads folds without it (~0.3 s)
    import pandas as pd

__all__ = [
    "FLUX_GROUPS",
    "group_components",
    "fold_table",
    "FoldTable",
    "read_fold",
    "fold_blocks",
    "dataset_from_fold",
    "signal_events_at",
    "FOLD_UNITS",
]

FLUX_GROUPS = ("8B", "other")
FOLD_UNITS = {
    "component": "",
    "kind": "",
    "model": "",
    "m_med_MeV": "MeV",
    "variation": "",
    "bin": "1",
    "events": "events (lin: per unit G; quad: per unit G^2)",
}


def group_components(names: Sequence[str]) -> dict[str, list[str]]:
    """Flux components of each group (a group with no component is left out).

    >>> group_components(["pp", "8B", "hep"])
    {'8B': ['8B'], 'other': ['pp', 'hep']}
    """
    groups = {"8B": [n for n in names if n == "8B"], "other": [n for n in names if n != "8B"]}
    return {g: c for g, c in groups.items() if c}


def _variations(response: Response) -> list[tuple[str, str | None, int]]:
    """(label, variation name, side) of the nominal response and of every shape variation."""
    out = [("nominal", None, 0)]
    for name in response.variations:
        out += [(f"{name}/down", name, 0), (f"{name}/up", name, 1)]
    return out


class FoldTable:
    """The rows of a fold file, template by template (no pandas: a fold job imports none).

    :meth:`add` appends one template: its events by bin, or by mediator mass then bin. :meth:`columns`
    gives the file's columns (:data:`FOLD_UNITS`), :meth:`blocks` the templates as :func:`read_fold`
    returns them, :meth:`to_pandas` a DataFrame (for inspection).
    """

    def __init__(self) -> None:
        self._templates: list[tuple[tuple[str, str, str, str], np.ndarray | None, np.ndarray]] = []

    def add(self, component: str, kind: str, model: str, masses, variation: str, values) -> None:
        """Append a template: ``values`` (n_bins,) or, with ``masses``, (n_mass, n_bins) events."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        mass = None if masses is None else np.asarray(masses, dtype=float)
        if mass is not None and mass.size != values.shape[0]:
            raise ValueError(f"template {component}/{kind}/{variation}: {mass.size} masses, {values.shape[0]} rows")
        self._templates.append(((component, kind, model, variation), mass, values))

    def __len__(self) -> int:
        return sum(v.size for _, _, v in self._templates)

    def blocks(self) -> FoldBlocks:
        blocks: FoldBlocks = {}
        for key, _, values in self._templates:
            if key in blocks:
                raise ValueError(f"fold table: template {key} added twice")
            blocks[key] = values.ravel()
        return blocks

    def _arrays(self) -> dict[str, Any]:
        """Numeric columns and, for the string columns, (codes, labels)."""
        sizes = [v.size for _, _, v in self._templates]
        out: dict[str, Any] = {}
        for i, name in enumerate(BLOCK_KEYS):
            labels = list(dict.fromkeys(key[i] for key, _, _ in self._templates))
            index = {label: j for j, label in enumerate(labels)}
            codes = np.repeat(np.array([index[key[i]] for key, _, _ in self._templates], dtype=np.int32), sizes)
            out[name] = (codes, labels)
        out["m_med_MeV"] = np.concatenate(
            [np.full(v.size, np.nan) if m is None else np.repeat(m, v.shape[1]) for _, m, v in self._templates]
        )
        out["bin"] = np.concatenate([np.tile(np.arange(v.shape[1]), v.shape[0]) for _, _, v in self._templates])
        out["events"] = np.concatenate([v.ravel() for _, _, v in self._templates])
        return out

    def columns(self) -> dict[str, Any]:
        """The fold file's columns in :data:`FOLD_UNITS` order: Arrow string arrays and NumPy arrays."""
        arrays = self._arrays()
        out = {}
        for name in FOLD_UNITS:
            value = arrays[name]
            if name in BLOCK_KEYS:
                codes, labels = value
                # large_string: the type the files had when written from pandas (same bytes, tested)
                dictionary = pa.DictionaryArray.from_arrays(io.from_numpy(codes), io.string_array(labels))
                value = dictionary.cast(pa.large_string())
            out[name] = value
        return out

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame (the columns of :meth:`columns`)."""
        import pandas as pd

        arrays = self._arrays()
        data = {}
        for name in FOLD_UNITS:
            value = arrays[name]
            data[name] = np.array(value[1], dtype=object)[value[0]] if name in BLOCK_KEYS else value
        return pd.DataFrame(data)


def fold_table(
    data: BinnedData,
    sm_rates: Mapping[str, Mapping[str, np.ndarray]],
    bsm_terms: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    masses_MeV: np.ndarray,
    flux_nuisances: Mapping[str, tuple[str, float]],
    model_info: Mapping[str, Mapping[str, Any]],
) -> tuple[FoldTable, dict[str, Any]]:
    """The fold table and its metadata.

    Parameters
    ----------
    data
        The data set (response, backgrounds, observed counts, signal modifiers).
    sm_rates
        ``{energy: {group: dR/dE}}`` on the nodes of the data set's response to that energy (``"nr"`` or
        ``"ee"``): the SM rates that enter the likelihood as samples (CEvNS; SM nu-e scattering is part of
        the quoted backgrounds), scaled by ``data.sm_scale``.
    bsm_terms
        ``{model: {group: (L, Q)}}``, each (n_mass, n_E) on the nodes of the model's response, with the
        coupling sign folded into L.
    masses_MeV
        Mediator masses of the BSM terms.
    flux_nuisances
        ``{group: (nuisance name, relative sigma)}`` (e.g. ``{"8B": ("flux_8B", 0.038)}``).
    model_info
        ``{model: {"energy": "nr" | "ee", ...}}``; other keys are copied into the metadata.
    """
    table = FoldTable()
    for sample in data.backgrounds:
        table.add(sample.name, "background", "", None, "nominal", sample.nominal)
        for m in sample.modifiers:
            if m.kind == "shape":
                table.add(sample.name, "background", "", None, f"{m.nuisance}/down", m.down)
                table.add(sample.name, "background", "", None, f"{m.nuisance}/up", m.up)
    for energy, groups in sm_rates.items():
        resp = data.response_for(energy)
        for group, rate in groups.items():
            for label, var, side in _variations(resp):
                events = data.sm_scale * resp.fold(rate, var, side)
                table.add(f"sm_cevns_{group}", "sm", "", None, label, events)
    for model, groups in bsm_terms.items():
        resp = data.response_for(model_info[model]["energy"])
        for group, (lin, quad) in groups.items():
            for label, var, side in _variations(resp):
                for kind, term in (("lin", lin), ("quad", quad)):
                    table.add(f"bsm_{group}", kind, model, masses_MeV, label, resp.fold(term, var, side))
    norm_mods: dict[str, list[dict[str, Any]]] = {
        s.name: [_modifier_dict(m) for m in s.modifiers if m.kind != "shape"] for s in data.backgrounds
    }
    interpolation = {m.nuisance: m.interpolation for s in data.backgrounds for m in s.modifiers if m.kind == "shape"}
    signal_mods = [_modifier_dict(m) for m in data.signal_modifiers]
    for group in FLUX_GROUPS:
        mods = list(signal_mods)
        if group in flux_nuisances:
            name, sigma = flux_nuisances[group]
            mods.append({"nuisance": name, "kind": "normal", "sigma": float(sigma)})
        norm_mods[f"sm_cevns_{group}"] = mods
        norm_mods[f"bsm_{group}"] = mods
    meta = {
        "dataset": data.name,
        "label": data.label,
        "bin_labels": list(data.bin_labels),
        "observed": [float(x) for x in data.observed],
        "exposure_t_yr": float(data.exposure_t_yr),
        "normalisation_modifiers": norm_mods,
        "interpolation": interpolation,
        "free": sorted(data.free),
        "masses_MeV": [float(m) for m in masses_MeV],
        "models": {k: dict(v) for k, v in model_info.items()},
        "sm_scale": float(data.sm_scale),
        "data_meta": dict(data.meta),
    }
    return table, meta


def _modifier_dict(m: Modifier) -> dict[str, Any]:
    return {"nuisance": m.nuisance, "kind": m.kind, "sigma": float(m.sigma)}


#: the columns that name a block of rows (one template: ``events`` by bin, or by mass and bin)
BLOCK_KEYS = ("component", "kind", "model", "variation")

#: ``{(component, kind, model, variation): events}`` in the fold's row order; ``events`` by bin, or for
#: ``lin``/``quad`` rows by mediator mass then bin (flattened)
FoldBlocks = dict


def read_fold(path, models: Iterable[str] | None = None) -> tuple[FoldBlocks, dict[str, Any]]:
    """The blocks (:func:`fold_blocks`) and the metadata of a fold file, without pandas.

    String columns are read as Arrow dictionaries, so a fold of millions of rows (XENONnT 2026: 2.9
    million) splits into its blocks in a few vectorised passes over integer codes. ``models``: read the
    new-physics terms of these models only (``()``: none, for the SM and backgrounds), one row group at a
    time, so a job that needs no signal does not hold a big scan's (10^4 masses: 146 million rows, ~14 GB)
    in memory; the metadata then lists them under ``models_read``.
    """
    with pq.ParquetFile(path, read_dictionary=list(BLOCK_KEYS)) as f:
        if models is None:
            table = f.read()
        else:
            keep = {"", *models}  # "": the rows of no model (backgrounds, SM)
            groups = []
            for i in range(f.num_row_groups):
                group = f.read_row_group(i)
                column = group["model"].combine_chunks()
                wanted = np.array([label in keep for label in column.dictionary.to_pylist()], dtype=bool)
                groups.append(group.filter(io.from_numpy(wanted[io.to_numpy(column.indices)])))
            table = pa.concat_tables(groups)
        table = table.unify_dictionaries()
    keys = []
    for name in BLOCK_KEYS:
        column = table[name].combine_chunks()
        keys.append((io.to_numpy(column.indices), column.dictionary.to_pylist()))
    columns = {name: io.to_numpy(table[name]) for name in ("m_med_MeV", "bin", "events")}
    meta = io.schema_metadata(table.schema, path)
    if models is not None:
        meta["models_read"] = sorted(set(models) & set(meta["models"]))
    return _blocks(keys, columns, path), meta


def fold_blocks(table: FoldTable | pd.DataFrame) -> FoldBlocks:
    """The blocks of a fold table (:func:`fold_table`'s, or a DataFrame of a fold file's rows)."""
    if isinstance(table, FoldTable):
        return table.blocks()
    import pandas as pd

    keys = []
    for name in BLOCK_KEYS:
        codes, labels = pd.factorize(table[name], sort=False)
        keys.append((codes, list(labels)))
    columns = {name: table[name].to_numpy() for name in ("m_med_MeV", "bin", "events")}
    return _blocks(keys, columns, "fold table")


def _blocks(keys, columns, where) -> FoldBlocks:
    """Split rows into blocks of equal keys. fold_table writes each block contiguously, ordered by mass
    then bin: anything else is an error, not something to sort out here."""
    events, mass, bins = columns["events"], columns["m_med_MeV"], columns["bin"]
    n = events.size
    new = np.zeros(n, dtype=bool)
    new[:1] = True
    for codes, _ in keys:
        new[1:] |= codes[1:] != codes[:-1]
    m = np.where(np.isnan(mass), -np.inf, mass)
    ordered = new[1:] | (m[1:] > m[:-1]) | ((m[1:] == m[:-1]) & (bins[1:] > bins[:-1]))
    if not ordered.all():
        raise ValueError(f"{where}: rows of a template are not ordered by mass and bin (not written by fold_table?)")
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    blocks: FoldBlocks = {}
    for start, end in zip(starts, ends):
        key = tuple(labels[codes[start]] for codes, labels in keys)
        if key in blocks:
            raise ValueError(f"{where}: template {key} appears in two places (not written by fold_table?)")
        blocks[key] = events[start:end]
    return blocks


def dataset_from_fold(
    table: FoldTable | pd.DataFrame | FoldBlocks, meta: Mapping[str, Any], model: str | None
) -> Dataset:
    """The likelihood data set of ``model`` from a fold table (or its :func:`read_fold` blocks) and its
    metadata (``None``: without new physics, e.g. for the SM CEvNS significance)."""
    if model is not None and model not in meta["models"]:
        raise ValueError(
            f"fold of {meta['dataset']!r} has no terms for model {model!r}; it has {sorted(meta['models'])}"
        )
    if model is not None and model not in meta.get("models_read", meta["models"]):
        raise ValueError(f"fold of {meta['dataset']!r} was read without the terms of model {model!r} (read_fold)")
    blocks = table if isinstance(table, dict) else fold_blocks(table)
    n_bins = len(meta["observed"])
    masses = np.asarray(meta["masses_MeV"], dtype=float)
    mods = meta["normalisation_modifiers"]
    interp = meta.get("interpolation", {})
    fixed: dict[str, dict[str, np.ndarray]] = {}  # component -> variation -> events (first-seen order)
    terms: dict[str, dict[str, np.ndarray]] = {}  # component -> variation -> (lin, quad) x mass x bin
    for (component, kind, block_model, variation), events in blocks.items():
        if kind in ("background", "sm"):
            fixed.setdefault(component, {})[variation] = events
        elif kind in ("lin", "quad") and block_model == model:
            arr = terms.setdefault(component, {}).setdefault(variation, np.zeros((2, masses.size, n_bins)))
            arr[("lin", "quad").index(kind)] = events.reshape(masses.size, n_bins)
    samples = [Sample(name, v["nominal"], _modifiers(mods.get(name, []), v, interp)) for name, v in fixed.items()]
    signals = [Signal(name, v["nominal"], _modifiers(mods.get(name, []), v, interp)) for name, v in terms.items()]
    return Dataset(
        name=meta["dataset"],
        observed=np.asarray(meta["observed"], dtype=float),
        samples=tuple(samples),
        signals=tuple(signals),
        masses_MeV=masses,
        free=frozenset(meta.get("free", [])),
    )


def _modifiers(norms, variants, interp) -> tuple[Modifier, ...]:
    out = [Modifier(m["nuisance"], m["kind"], m["sigma"]) for m in norms]
    names = sorted({v.rsplit("/", 1)[0] for v in variants if v != "nominal"})
    for name in names:
        out.append(
            Modifier(
                name,
                "shape",
                down=variants[f"{name}/down"],
                up=variants[f"{name}/up"],
                interpolation=interp.get(name, "quadratic"),
            )
        )
    return tuple(out)


def signal_events_at(data: Dataset, m_med_MeV: float, coupling: float) -> np.ndarray:
    """New-physics events per bin, lin |G| + quad G^2 summed over the signal groups, at a mediator mass
    between the fold's grid masses (Table 1's benchmarks): each coefficient is interpolated by a cubic
    spline in log m, of log |coefficient| where it keeps one sign (the coefficients fall like powers of m,
    so the spline is nearly exact: 1e-6 on the default 200-mass grid, tested), else of the coefficient.
    """
    from scipy.interpolate import CubicSpline

    masses = data.masses_MeV
    if not masses[0] <= m_med_MeV <= masses[-1]:
        raise ValueError(
            f"data set {data.name!r}: mediator mass {m_med_MeV!r} MeV is outside its fold grid "
            f"[{masses[0]:g}, {masses[-1]:g}] MeV (limits.m_med_MeV)"
        )
    terms = sum(s.terms for s in data.signals)  # (2, n_mass, n_bins)
    x, at = np.log(masses), np.log(m_med_MeV)
    coeff = np.zeros(terms.shape[::2])  # (2, n_bins)
    for k in range(2):
        for b in range(terms.shape[2]):
            v = terms[k, :, b]
            if np.all(v > 0) or np.all(v < 0):
                coeff[k, b] = np.sign(v[0]) * np.exp(CubicSpline(x, np.log(np.abs(v)))(at))
            elif np.any(v != 0):
                coeff[k, b] = CubicSpline(x, v)(at)
    return coeff[0] * abs(coupling) + coeff[1] * coupling**2


def write_fold(
    table: FoldTable,
    meta: Mapping[str, Any],
    path: str,
    config: Mapping[str, Any],
    input_sha256: Mapping[str, str],
    seconds: float,
    log: logging.Logger,
) -> None:
    """The fold rules' last step: log one summary line and write the fold file with its provenance (the
    config keys the rule used and its inputs' sha256)."""
    log.info(
        "%s: %d bins, %d rows (models %s) in %.2f s",
        meta["dataset"],
        len(meta["observed"]),
        len(table),
        ", ".join(meta["models"]),
        seconds,
    )
    io.write_table(table.columns(), path, FOLD_UNITS, io.provenance(config, input_sha256), meta)
