"""HEPData record of every limit curve (rule ``hepdata``): results/{run}/hepdata/<limit file stem>.yaml
and results/{run}/hepdata/submission.yaml, from results/{run}/limits/*.parquet and their metadata."""

import logging
from pathlib import Path

from nufog import io
from nufog.hepdata import data_table, dump_submission, dump_table, submission_entry
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    models = params.get("models", {})
    out_dir = Path(outputs["submission"]).parent
    entries = []
    for path in inputs["limits"]:
        df, meta = io.read_table(path)
        kind = models.get(meta["model"], {}).get("kind", meta["model"])
        table = data_table(df, meta, kind)
        name = f"{Path(path).stem}.yaml"
        io.write_text(out_dir / name, dump_table(table))
        entries.append(submission_entry(name, meta, table, kind))
    io.write_text(outputs["submission"], dump_submission(entries, params["comment"]))
    log.info("HEPData record: %d tables in %s", len(entries), out_dir)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
