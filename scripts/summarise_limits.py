"""Summary of every limit curve (rule ``limits_summary``): its CL and method, the coupling-product limit
at a few masses and the mass below which the curve is flat."""

import logging

import pandas as pd

from nufog import io
from nufog.limits import summarise_curve
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    rows = []
    for path in inputs["limits"]:
        df, meta = io.read_table(path)
        summary = summarise_curve(
            df["m_med_MeV"].to_numpy(), df["coupling_limit"].to_numpy(), params["masses_MeV"], params["flat_tolerance"]
        )
        ids = {k: meta[k] for k in ("model", "experiment", "cl", "method")}
        rows.append({**ids, **summary})
    table = pd.DataFrame(rows).sort_values(["model", "experiment"])
    with io.atomic_path(outputs["0"]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4g")
    log.info("%d curves summarised", len(table))


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
