"""Concatenate the mass chunks of one (model, experiment) pair (rule ``gather_limits``)."""

import logging

import pandas as pd

from nufog import io
from nufog.scripting import run

log = logging.getLogger(__name__)


def concat(paths: list[str]) -> tuple[pd.DataFrame, dict]:
    frames, metas = zip(*(io.read_table(p) for p in paths))
    first = metas[0]
    for p, meta in zip(paths, metas):
        if meta["provenance"]["config_hash"] != first["provenance"]["config_hash"]:
            raise ValueError(f"chunk {p} was made with another config; rerun its scan")
    df = pd.concat(frames, ignore_index=True).sort_values(list(frames[0].columns[:2])).reset_index(drop=True)
    return df, first


def main(inputs: dict, outputs: dict, params: dict) -> None:
    for kind, out in (("curves", "curve"), ("maps", "map")):
        paths = inputs[kind] if isinstance(inputs[kind], list) else list(inputs[kind])
        df, meta = concat(paths)
        extra = {k: v for k, v in meta.items() if k not in ("units", "provenance")}
        io.write_table(df, outputs[out], meta["units"], meta["provenance"], extra)
        log.info("%s: %d chunks, %d rows", outputs[out], len(paths), len(df))


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
