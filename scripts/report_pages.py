"""HTML pages of the report (rules ``report_tables``, ``report_closure_tables``): every CSV table as an
HTML table, and the front page with the headline numbers (N_lim per data set, the fitted COHERENT
count, the limits at the summary masses per model)."""

import json
import logging

import pandas as pd

from nufog import io
from nufog.mediators import get_model
from nufog.report import headline_html, table_page
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    titles = params.get("titles", {})
    for key, path in outputs.items():
        if key == "headline":
            continue
        source = inputs[key]
        io.write_text(path, table_page(pd.read_csv(source), titles.get(key, str(source))))
        log.info("wrote %s from %s", path, source)
    if "headline" in outputs:
        models = params.get("models", {})
        labels = {name: get_model(cfg.get("kind", name)).label for name, cfg in models.items()}
        with open(inputs["coherent_fit"], encoding="utf-8") as f:
            fit = json.load(f)
        fragment = headline_html(
            pd.read_csv(inputs["signal_limits"]),
            fit,
            pd.read_csv(inputs["limits_summary"]),
            model_labels=labels,
            experiment_labels={
                "coherent_csi": params.get("coherent_label", "COHERENT CsI"),
                **params.get("curve_labels", {}),  # data sets and combinations
            },
        )
        io.write_text(outputs["headline"], fragment)
        log.info("wrote %s", outputs["headline"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
