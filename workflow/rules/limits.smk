# Light-mediator limits (issue 8): fold every data set once, then limits read fold files only.
#
#   download -> results/fold/{experiment}.parquet -> results/limits/{model}_{experiment}.parquet
#                                                 -> results/limits/{model}_{combination}.parquet
#
# One limit job per data set (all its models) and one per combination: a job does real work, and
# editing a data set reruns only its fold and limit jobs (and the tables and figures).


localrules:
    limits_summary,


rule fold:
    """Expected events per analysis bin: backgrounds, SM CEvNS per flux group, new-physics terms per model and mass."""
    input:
        unpack(fold_inputs),
    output:
        "results/fold/{experiment}.parquet",
    log:
        "logs/fold/{experiment}.log",
    benchmark:
        "results/benchmarks/fold/{experiment}.tsv"
    params:
        solar=config["solar"],
        xenon=config["xenon"],
        grids=config["grids"],
        hadronic=config.get("hadronic"),
        nuisances=config["nuisances"],
        limits=lambda wc: fold_limit_keys(),
        experiments=lambda wc: {wc.experiment: config["experiments"][wc.experiment]},
        models=lambda wc: models_using(wc.experiment),
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        mem_mb=lambda wc, attempt: 3000 * attempt,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/fold_dataset.py"


for _name, (_datasets, _models, _label) in LIMIT_JOBS.items():

    rule:
        name:
            f"limits_{_name}"
        input:
            **{d: f"results/fold/{d}.parquet" for d in _datasets},
        output:
            **{m: f"results/limits/{m}_{_name}.parquet" for m in _models},
        log:
            f"logs/limits/{_name}.log",
        benchmark:
            f"results/benchmarks/limits/{_name}.tsv"
        params:
            limits=LIMIT_SETTINGS,
            name=_name,
            label=_label,
            models=_models,
            version=VERSION,
        resources:
            mem_mb=lambda wc, attempt: 3000 * attempt,
            runtime=lambda wc, attempt: 30 * attempt,
        conda:
            "../envs/analysis.yaml"
        script:
            "../../scripts/set_limits.py"


rule experiment_tables:
    """Signal limits N_lim per method, SM expectations and significance, and the paper's Table 1 (fold files only)."""
    input:
        **{f"fold_{e}": f"results/fold/{e}.parquet" for e in EXPERIMENTS},
    output:
        signal_limits="results/tables/signal_limits.csv",
        table1_csv="results/tables/table1.csv",
        table1_md="results/tables/table1.md",
    log:
        "logs/tables/experiments.log",
    params:
        limits={k: config["limits"][k] for k in ("cl", "reference", "profile")},
        benchmarks=config["benchmarks"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/tabulate_experiments.py"


rule limits_summary:
    """Coupling-product limit at 1, 10, 100 MeV and the flat-below mass for every curve."""
    input:
        limits=all_limit_files(),
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
