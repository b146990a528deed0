"""Fetch one input file into the cache and verify its sha256 (rule ``download_input``)."""

import dataclasses
import logging

from nufog.inputs import InputEntry, fetch
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    entry = params["entry"]
    if not isinstance(entry, InputEntry):
        entry = InputEntry(**entry)
    source = fetch(entry, outputs["0"], params["mirror"], params["timeout_s"], params["retries"])
    log.info("%s <- %s (%s)", outputs["0"], source, dataclasses.asdict(entry)["reference"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
