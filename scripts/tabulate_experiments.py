"""Signal limits per experiment and the paper's Table 1 (rule ``experiment_tables``)."""

import logging

import numpy as np
import pandas as pd

from nufog.analysis import Setup
from nufog.io import atomic_path
from nufog.limits import count_coefficients
from nufog.scripting import run

log = logging.getLogger(__name__)

#: The paper's Table 1 signal counts (arXiv:2411.14206), for comparison in table1.md.
PAPER_TABLE1 = {
    "scalar": {"pandax4t_s1s2": 1.04, "pandax4t_s2only": 30.52, "xenonnt": 6.55},
    "vector": {"pandax4t_s1s2": 1.11, "pandax4t_s2only": 44.32, "xenonnt": 8.05},
}


def benchmark_events(setup: Setup, summary, bench: dict) -> float:
    signal = setup.signal(bench["model"], summary)
    if signal.model.target == "electron" and not summary.experiment.electron_recoils:
        return float("nan")
    a, b = count_coefficients(signal, np.array([bench["m_med_MeV"]]))
    g = bench["coupling"]
    return float(a[0] * g + b[0] * g**2)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = {**params["analysis"], "grids": params["grids"]}
    setup = Setup(inputs, config)
    summaries = {name: setup.experiment(name) for name in config["experiments"]}
    rows = pd.DataFrame([s.as_row() for s in summaries.values()])
    rows.insert(
        rows.columns.get_loc("sm_electron_events") + 1,
        "sm_migdal_events",
        [setup.migdal_events(s) for s in summaries.values()],
    )
    rows["cl"] = config["limits"]["cl"]
    rows["reference"] = config["limits"]["reference"]
    with atomic_path(outputs["signal_limits"]) as tmp:
        rows.to_csv(tmp, index=False, float_format="%.6g")
    for s in summaries.values():
        log.info(
            "%-18s SM CEvNS %.2f, n = %g, b = %.2f -> N_lim = %.3f",
            s.experiment.name,
            s.sm_cevns_events,
            s.n_obs,
            s.background,
            s.n_lim,
        )

    # Table 1: the measured data sets (projections are not in the paper's table)
    measured = [n for n, s in summaries.items() if not s.experiment.is_projection]
    table = {
        "exposure [t yr]": [summaries[n].experiment.exposure_t_yr for n in measured],
        "observed events": [summaries[n].n_obs for n in measured],
        "background events": [summaries[n].background for n in measured],
        "SM CEvNS events (this work)": [summaries[n].sm_cevns_events for n in measured],
    }
    for key, bench in config["benchmarks"].items():
        table[f"signal events, {key} benchmark"] = [benchmark_events(setup, summaries[n], bench) for n in measured]
    t1 = pd.DataFrame(table, index=[summaries[n].experiment.label for n in measured]).T
    t1.index.name = "quantity"
    with atomic_path(outputs["table1_csv"]) as tmp:
        t1.to_csv(tmp, float_format="%.4g")
    lines = ["| quantity | " + " | ".join(t1.columns) + " |", "|---|" + "---|" * len(t1.columns)]
    for q, row in t1.iterrows():
        lines.append(f"| {q} | " + " | ".join(f"{v:.4g}" for v in row) + " |")
    for key in config["benchmarks"]:
        paper = PAPER_TABLE1.get(key, {})
        if paper:
            lines.append(
                f"| paper: signal events, {key} benchmark | "
                + " | ".join(f"{paper.get(n, float('nan')):.4g}" for n in measured)
                + " |"
            )
    notes = [
        f"- {k} benchmark: {b['model']}, m = {b['m_med_MeV']:g} MeV, |g g| = {b['coupling']:g}"
        for k, b in config["benchmarks"].items()
    ]
    text = "\n".join(["# Table 1 (arXiv:2411.14206)", "", *lines, "", *notes, ""])
    with atomic_path(outputs["table1_md"]) as tmp:
        tmp.write_text(text)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
