# Standard-Model differential rates in xenon, one table per process (paper Fig. 1), in one job.


rule tabulate_rates:
    """dR/dE per solar flux component and in total, events / (t yr keV), for CEvNS, Migdal and nu-e."""
    input:
        unpack(rate_inputs),
    output:
        **{p: res(f"rates/xenon_{p}.parquet") for p in PROCESSES},
    log:
        logs("rates/xenon_rates.log"),
    benchmark:
        res("benchmarks/rates/xenon_rates.tsv")
    params:
        solar=config["solar"],
        xenon=config["xenon"],
        grids=config["grids"],
        process_inputs=PROCESS_INPUTS,
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        mem_mb=2000,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/tabulate_rates.py"


rule benchmark_spectra:
    """dR/dE_nr in xenon for the SM and Table 1's benchmark points, on the folding grid (Fig. 2)."""
    input:
        unpack(lambda wc: solar_inputs()),
    output:
        res("rates/xenon_cevns_benchmarks.parquet"),
    log:
        logs("rates/xenon_cevns_benchmarks.log"),
    benchmark:
        res("benchmarks/rates/xenon_cevns_benchmarks.tsv")
    params:
        solar=config["solar"],
        xenon=config["xenon"],
        hadronic=config.get("hadronic"),
        models={b["model"]: config["models"][b["model"]] for b in config["benchmarks"].values()},
        benchmarks=config["benchmarks"],
        e_nr_keV=config["limits"]["e_nr_keV"],
        version=VERSION,
        input_sha256=input_sha256,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/tabulate_benchmark_spectra.py"
