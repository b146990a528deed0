# Fetch every external input into the cache, verified against the manifest's sha256. (A ``run:``
# directive would not save the start-up: Snakemake 9 runs each such job in a new snakemake process.)
# The only param is the manifest entry (what to fetch and its sha256). Where to fetch it from and how
# patiently (data.mirror or NUFOG_DATA_MIRROR, data.timeout_s, data.retries) the script reads from the
# config: as params they would make a moved mirror rerun every download and, through the new files,
# the whole workflow, although the verified bytes are the same.


localrules:
    download_input,
    download_registry,


rule download_input:
    """Copy from the data mirror or download from the pinned URL; keep only verified bytes."""
    output:
        f"{CACHE}/{{file}}",
    wildcard_constraints:
        file="|".join(re.escape(e.file) for e in MANIFEST.values() if not e.is_registry),
    log:
        logs("download/{file}.log"),
    params:
        entry=lambda wc: next(e for e in MANIFEST.values() if e.file == wc.file),
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/download_input.py"


rule download_registry:
    """A data release of many files (a registry entry): every file verified, then the stamp file."""
    output:
        f"{CACHE}/{{release}}/{REGISTRY_STAMP}",
    wildcard_constraints:
        release="|".join(re.escape(e.file) for e in MANIFEST.values() if e.is_registry) or "^$",
    log:
        logs("download/{release}.log"),
    params:
        entry=lambda wc: next(e for e in MANIFEST.values() if e.is_registry and e.file == wc.release),
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/download_input.py"
