# Standard-Model differential rates in xenon, one table per process (paper Fig. 1).


rule tabulate_rates:
    """dR/dE per solar flux component and in total, events / (t yr keV)."""
    input:
        unpack(rate_inputs),
    output:
        "results/rates/xenon_{process}.parquet",
    wildcard_constraints:
        process="|".join(PROCESSES),
    log:
        "logs/rates/xenon_{process}.log",
    benchmark:
        "results/benchmarks/rates/xenon_{process}.tsv"
    params:
        solar=config["solar"],
        xenon=config["xenon"],
        grids=config["grids"],
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        mem_mb=2000,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/tabulate_rates.py"
