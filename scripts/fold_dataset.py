"""Fold one data set (rule ``fold``): expected events per analysis bin of every background, the SM CEvNS
per flux group and the new-physics coefficients of every model that uses the data set, per mediator mass
(``results/{run}/fold/{experiment}.parquet``, columns and metadata in :mod:`nufog.fold`)."""

import logging
import time

from nufog.analysis import fold_experiment
from nufog.fold import write_fold
from nufog.inputs import checksums
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    name = params["wildcards"]["experiment"]
    config = {k: v for k, v in params.items() if k not in ("wildcards", "version", "input_sha256")}
    start = time.perf_counter()
    table, meta = fold_experiment(inputs, config, name, list(params["models"]))
    write_fold(table, meta, outputs["0"], config, checksums(inputs), time.perf_counter() - start, log)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
