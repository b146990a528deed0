"""Fetch one input file into the cache and verify its sha256 (rule ``download_input``)."""

import dataclasses
import logging
from pathlib import Path

from nufog.inputs import InputEntry, fetch
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    entry = params["entry"]
    if not isinstance(entry, InputEntry):
        entry = InputEntry(**entry)
    # a registry entry's output is the stamp file inside the release directory
    dest = Path(outputs["0"]).parent if entry.is_registry else outputs["0"]
    source = fetch(entry, dest, params["mirror"], params["timeout_s"], params["retries"])
    log.info("%s <- %s (%s)", outputs["0"], source, dataclasses.asdict(entry)["reference"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
