# Light-mediator limits from the xenon experiments (paper Eqs. 20-22, Table 1, Fig. 3).
# The mass grid is split into chunks (scattergather) so big scans spread over a cluster.


scattergather:
    masses=config["limits"]["n_chunks"],


localrules:
    gather_limits,
    experiment_tables,
    limits_summary,


rule scan_limits_chunk:
    """Closed-form coupling limit and Delta chi^2 map for one chunk of mediator masses."""
    input:
        unpack(analysis_inputs),
    output:
        curve="results/chunks/{model}_{experiment}/{scatteritem}.curve.parquet",
        map="results/chunks/{model}_{experiment}/{scatteritem}.map.parquet",
    log:
        "logs/limits/{model}_{experiment}/{scatteritem}.log",
    benchmark:
        "results/benchmarks/limits/{model}_{experiment}/{scatteritem}.tsv"
    group:
        "scan"
    params:
        analysis=analysis_params(),
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    retries: 1
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/scan_limits.py"


rule gather_limits:
    """Concatenate the mass chunks: results/limits (curve) and results/scans (map)."""
    input:
        curves=gather.masses("results/chunks/{{model}}_{{experiment}}/{scatteritem}.curve.parquet"),
        maps=gather.masses("results/chunks/{{model}}_{{experiment}}/{scatteritem}.map.parquet"),
    output:
        curve="results/limits/{model}_{experiment}.parquet",
        map="results/scans/{model}_{experiment}.parquet",
    log:
        "logs/limits/{model}_{experiment}/gather.log",
    params:
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/gather_limits.py"


rule experiment_tables:
    """SM expectations (CEvNS, nu-e, Migdal), signal limits N_lim (Eqs. 20-22) and the paper's Table 1."""
    input:
        unpack(analysis_inputs),
        migdal_xe=cached("migdal_xe")["migdal_xe"],
    output:
        signal_limits="results/tables/signal_limits.csv",
        table1_csv="results/tables/table1.csv",
        table1_md="results/tables/table1.md",
    log:
        "logs/tables/experiments.log",
    params:
        analysis=analysis_params(),
        grids=config["grids"],
        version=VERSION,
        input_sha256=input_sha256,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/tabulate_experiments.py"


rule limits_summary:
    """Coupling-product limit at 1, 10, 100 MeV and the flat-below mass for every curve."""
    input:
        limits=pair_outputs("results/limits/{model}_{experiment}.parquet") + coherent_limit_outputs(),
    output:
        "results/tables/limits_summary.csv",
    log:
        "logs/tables/limits_summary.log",
    params:
        masses_MeV=config["limits"]["summary"]["masses_MeV"],
        flat_tolerance=config["limits"]["summary"]["flat_tolerance"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/summarise_limits.py"
