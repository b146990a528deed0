"""Tabulate one SM rate in xenon (rule ``tabulate_rates``): results/rates/xenon_{process}.parquet."""

import logging
import time

from nufog import io, rates
from nufog.inputs import checksums
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    process = params["wildcards"]["process"]
    config = {k: params[k] for k in ("solar", "xenon", "grids")}
    start = time.perf_counter()
    df, units = rates.tabulate(process, inputs, config)
    log.info(
        "%s: %d energies x %d components in %.2f s", process, len(df), df.shape[1] - 2, time.perf_counter() - start
    )
    prov = io.provenance(config, checksums(inputs))
    io.write_table(df, outputs["0"], units, prov, extra={"process": process, "target": "Xe"})


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
