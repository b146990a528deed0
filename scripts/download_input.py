"""Fetch one input (a file, or a release of many files) into the cache and verify its sha256
(rules ``download_input`` and ``download_registry``)."""

from nufog.inputs import InputEntry, fetch_job, resolve_mirror


def main(snakemake) -> None:
    entry = snakemake.params.entry
    if not isinstance(entry, InputEntry):
        entry = InputEntry(**entry)
    data = snakemake.config["data"]  # how to fetch, not what: not a param (workflow/rules/download.smk)
    mirror = resolve_mirror(data["mirror"])
    fetch_job(entry, snakemake.output[0], mirror, data["timeout_s"], data["retries"], snakemake.log[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
