"""Fetch one input (a file, or a release of many files) into the cache and verify its sha256
(rules ``download_input`` and ``download_registry``)."""

from nufog.inputs import InputEntry, fetch_job


def main(snakemake) -> None:
    entry = snakemake.params.entry
    if not isinstance(entry, InputEntry):
        entry = InputEntry(**entry)
    p = snakemake.params
    fetch_job(entry, snakemake.output[0], p.mirror, p.timeout_s, p.retries, snakemake.log[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
