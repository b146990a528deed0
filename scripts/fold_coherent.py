"""Fold the COHERENT CsI data set (rule ``fold_coherent``): the PE x time templates of the CsIModel as
core samples and signals (:mod:`nufog.coherent_dataset`) in the fold format of :mod:`nufog.fold`
(``results/{run}/fold/{experiment}.parquet``), for the models that list the data set."""

import logging
import time

from nufog.coherent import model_from_config
from nufog.coherent_dataset import fold_coherent
from nufog.config import log_grid
from nufog.fold import write_fold
from nufog.inputs import checksums
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    name = params["wildcards"]["experiment"]
    start = time.perf_counter()
    csi = model_from_config(params["coherent"], params["data_dir"])
    masses = log_grid(params["masses"])
    table, meta = fold_coherent(csi, params["models"], masses, params["label"], params["hadronic"])
    meta["dataset"] = name
    config = {k: v for k, v in params.items() if k not in ("wildcards", "version", "input_sha256")}
    write_fold(table, meta, outputs["0"], config, checksums(inputs), time.perf_counter() - start, log)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
