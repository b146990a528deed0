# Light-mediator limits (issue 8): fold every data set once, then limits read fold files only.
#
#   download -> results/{run}/fold/{experiment}.parquet -> results/{run}/limits/{model}_{experiment}.parquet
#                                                       -> results/{run}/limits/{model}_{combination}.parquet
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
        res("fold/{experiment}.parquet"),
    log:
        logs("fold/{experiment}.log"),
    benchmark:
        res("benchmarks/fold/{experiment}.tsv")
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
        mem_mb=mass_scaled_mem_mb(1.5),  # the fold of a big scan holds every mass's terms
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/fold_dataset.py"


for _name, (_datasets, _models, _label) in LIMIT_JOBS.items():

    rule:
        name:
            f"limits_{_name}"
        input:
            **{d: res(f"fold/{d}.parquet") for d in _datasets},
        output:
            **{m: res(f"limits/{m}_{_name}.parquet") for m in _models},
        log:
            logs(f"limits/{_name}.log"),
        benchmark:
            res(f"benchmarks/limits/{_name}.tsv")
        params:
            limits=LIMIT_SETTINGS,
            name=_name,
            label=_label,
            models=_models,
            version=VERSION,
        resources:
            mem_mb=mass_scaled_mem_mb(1.0),
            runtime=lambda wc, attempt: 30 * attempt,
        conda:
            "../envs/analysis.yaml"
        script:
            "../../scripts/set_limits.py"


rule experiment_tables:
    """Signal limits N_lim per method, SM expectations and significance, and the paper's Table 1 (fold files only)."""
    input:
        **{f"fold_{e}": res(f"fold/{e}.parquet") for e in EXPERIMENTS},
    output:
        signal_limits=res("tables/signal_limits.csv"),
        table1_csv=res("tables/table1.csv"),
        table1_md=res("tables/table1.md"),
    log:
        logs("tables/experiments.log"),
    benchmark:
        res("benchmarks/tables/experiments.tsv")
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
        res("tables/limits_summary.csv"),
    log:
        logs("tables/limits_summary.log"),
    benchmark:
        res("benchmarks/tables/limits_summary.tsv")
    params:
        masses_MeV=config["limits"]["summary"]["masses_MeV"],
        flat_tolerance=config["limits"]["summary"]["flat_tolerance"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/summarise_limits.py"
