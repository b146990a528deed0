"""Signal limits per data set and the paper's Table 1 (rule ``experiment_tables``).

Counts, SM expectations and backgrounds come from the fold files. For every data set:
``n_lim`` (the paper's signal limit, Eqs. 20-22: Wilks at the configured CL and reference, the count
set's background uncertainty profiled when ``limits.profile``), the limits of the three methods with the
nuisances fixed (``n_lim_wilks``, ``n_lim_cls``, ``n_lim_feldman_cousins``; one-bin data sets; Feldman-Cousins
takes a projection's Asimov count n = b to the nearest whole count), and the
SM CEvNS discovery significance (observed and expected, nuisances profiled per ``limits.profile``).
Table 1's benchmark signal events come from the same fold files: the new-physics coefficients at the
benchmark mass, interpolated between the fold's grid masses (:func:`nufog.fold.signal_events_at`).
"""

import logging

import numpy as np
import pandas as pd

from nufog.fold import FoldBlocks, dataset_from_fold, read_fold, signal_events_at
from nufog.inference import discovery_significance, exact_cls_upper, feldman_cousins_interval, whole_count
from nufog.io import atomic_path, read_metadata
from nufog.scripting import run
from nufog.stats import signal_upper_limit

log = logging.getLogger(__name__)

#: The paper's Table 1 signal counts (arXiv:2411.14206), for comparison in table1.md.
PAPER_TABLE1 = {
    "scalar": {"pandax4t_s1s2": 1.04, "pandax4t_s2only": 30.52, "xenonnt": 6.55},
    "vector": {"pandax4t_s1s2": 1.11, "pandax4t_s2only": 44.32, "xenonnt": 8.05},
}


def benchmark_events(table: FoldBlocks, meta: dict, bench: dict) -> float:
    """Signal events of a benchmark point (model, mass, coupling) in one data set, from its fold file."""
    data = dataset_from_fold(table, meta, bench["model"])
    return float(signal_events_at(data, bench["m_med_MeV"], bench["coupling"]).sum())


def dataset_row(table: FoldBlocks, meta: dict, limits: dict) -> dict:
    """One row of signal_limits.csv from a fold file."""
    data = dataset_from_fold(table, meta, None)
    sm = [s.name for s in data.samples if s.name.startswith("sm_cevns_")]
    fixed = data.without_nuisances()
    n_obs, expected = float(data.observed.sum()), float(data.expected_sm().sum())
    summary = meta["data_meta"].get("summary", {})
    row = {
        "experiment": meta["dataset"],
        "label": meta["label"],
        "n_bins": data.n_bins,
        "exposure_t_yr": meta["exposure_t_yr"],
        "observed": n_obs,
        "background": expected,
        "background_sigma": summary.get("background_sigma", np.nan),
        # nufog's SM expectation (before any scaling to a quoted background, see nufog.analysis.counting_data)
        "sm_cevns_events": summary.get("sm_cevns", float(sum(s.nominal.sum() for s in data.samples if s.name in sm))),
        "sm_electron_events": summary.get("sm_electron", np.nan),
        "sm_migdal_events": summary.get("sm_migdal", np.nan),
        "efficiency_scale": summary.get("efficiency_scale", np.nan),
    }
    cl, reference = limits["cl"], limits["reference"]
    if data.n_bins == 1:
        sigma_b = summary.get("background_sigma", 0.0) if limits["profile"] else 0.0
        row["n_lim"] = float(signal_upper_limit(n_obs, expected, cl, reference, sigma_b))
        row["n_lim_wilks"] = float(signal_upper_limit(n_obs, expected, cl, reference))
        row["n_lim_cls"] = exact_cls_upper(n_obs, expected, cl)
        # a projection's Asimov n = b taken to the nearest whole count, as the exact limit path does
        row["n_lim_feldman_cousins"] = feldman_cousins_interval(whole_count(n_obs), expected, cl)[1]
    else:
        row.update({k: np.nan for k in ("n_lim", "n_lim_wilks", "n_lim_cls", "n_lim_feldman_cousins")})
    probe = data if limits["profile"] else fixed
    if sm and len(sm) < len(data.samples):
        row["cevns_significance_obs"] = discovery_significance(probe, sm)
        row["cevns_significance_exp"] = discovery_significance(probe, sm, asimov=True)
    else:  # a projection whose only sample is the SM expectation: no background to test against
        row["cevns_significance_obs"] = row["cevns_significance_exp"] = np.nan
    return row


def _read(path: str) -> tuple[FoldBlocks, dict]:
    """A fold file with the new-physics terms only where Table 1 needs them (the counting data sets): a
    release's are most of its rows (a big scan's XENONnT 2026 fold: 146 million) and no column here uses
    them."""
    counting = read_metadata(path)["data_meta"].get("kind") == "counting"
    return read_fold(path, None if counting else ())


def main(inputs: dict, outputs: dict, params: dict) -> None:
    limits = params["limits"]
    folds = {name[len("fold_") :]: _read(path) for name, path in inputs.items() if name.startswith("fold_")}
    rows = pd.DataFrame([dataset_row(table, meta, limits) for table, meta in folds.values()])
    rows["cl"] = limits["cl"]
    rows["reference"] = limits["reference"]
    with atomic_path(outputs["signal_limits"]) as tmp:
        rows.to_csv(tmp, index=False, float_format="%.6g")
    for r in rows.itertuples():
        log.info(
            "%-22s SM CEvNS %.2f, n = %g, b = %.2f -> N_lim = %.3f (CLs %.3f, FC %.3f); Z_CEvNS = %.2f",
            r.experiment,
            r.sm_cevns_events,
            r.observed,
            r.background,
            r.n_lim,
            r.n_lim_cls,
            r.n_lim_feldman_cousins,
            r.cevns_significance_obs,
        )

    # Table 1: the measured counting data sets (projections and releases are not in the paper's table)
    measured = [
        n
        for n, (_, meta) in folds.items()
        if meta["data_meta"].get("kind") == "counting" and not meta["data_meta"]["summary"]["is_projection"]
    ]
    by_name = rows.set_index("experiment")
    table = {
        "exposure [t yr]": [by_name.loc[n, "exposure_t_yr"] for n in measured],
        "observed events": [by_name.loc[n, "observed"] for n in measured],
        "background events": [by_name.loc[n, "background"] for n in measured],
        "SM CEvNS events (this work)": [folds[n][1]["data_meta"]["summary"]["sm_cevns"] for n in measured],
    }
    for key, bench in params["benchmarks"].items():
        table[f"signal events, {key} benchmark"] = [
            benchmark_events(*folds[n], bench) if bench["model"] in folds[n][1]["models"] else float("nan")
            for n in measured
        ]
    t1 = pd.DataFrame(table, index=[by_name.loc[n, "label"] for n in measured]).T
    t1.index.name = "quantity"
    with atomic_path(outputs["table1_csv"]) as tmp:
        t1.to_csv(tmp, float_format="%.4g")
    lines = ["| quantity | " + " | ".join(t1.columns) + " |", "|---|" + "---|" * len(t1.columns)]
    for q, row in t1.iterrows():
        lines.append(f"| {q} | " + " | ".join(f"{v:.4g}" for v in row) + " |")
    for key in params["benchmarks"]:
        paper = PAPER_TABLE1.get(key, {})
        if paper:
            lines.append(
                f"| paper: signal events, {key} benchmark | "
                + " | ".join(f"{paper.get(n, float('nan')):.4g}" for n in measured)
                + " |"
            )
    notes = [
        f"- {k} benchmark: {b['model']}, m = {b['m_med_MeV']:g} MeV, |g g| = {b['coupling']:g}"
        for k, b in params["benchmarks"].items()
    ]
    text = "\n".join(["# Table 1 (arXiv:2411.14206)", "", *lines, "", *notes, ""])
    with atomic_path(outputs["table1_md"]) as tmp:
        tmp.write_text(text)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
