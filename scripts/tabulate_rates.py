"""Tabulate the SM rates in xenon (rule ``tabulate_rates``): results/{run}/rates/xenon_{process}.parquet for
CEvNS, Migdal and nu-e scattering. Each table's provenance lists the inputs that process read."""

import logging
import time

from nufog import io, rates
from nufog.inputs import checksums
from nufog.progress import Progress
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = {k: params[k] for k in ("solar", "xenon", "grids")}
    progress = Progress(len(rates.PROCESSES), log, what="processes")
    for process in rates.PROCESSES:
        start = time.perf_counter()
        df, units = rates.tabulate(process, inputs, config)
        log.info(
            "%s: %d energies x %d components in %.2f s", process, len(df), df.shape[1] - 2, time.perf_counter() - start
        )
        read = {k: v for k, v in inputs.items() if k not in params["process_inputs"]["all"]}
        read.update({k: inputs[k] for k in params["process_inputs"][process]})
        prov = io.provenance(config, checksums(read))
        io.write_table(df, outputs[process], units, prov, extra={"process": process, "target": "Xe"})
        progress.step()


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
