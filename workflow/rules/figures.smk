# Paper figures. Plots are cheap: run them on the submit host.


localrules:
    plot_fig1,
    plot_fig2,
    plot_fig3,
    plot_fig4,
    plot_fig5,


rule plot_fig1:
    """Paper Fig. 1: CEvNS (in keV_ee), Migdal and nu-e rates in xenon."""
    input:
        cevns=res("rates/xenon_cevns.parquet"),
        migdal=res("rates/xenon_migdal.parquet"),
        electron=res("rates/xenon_electron.parquet"),
    output:
        pdf=res("figures/fig1_sm_rates.pdf"),
        png=report(
            res("figures/fig1_sm_rates.png"),
            caption="../report/fig1.rst",
            category="Standard-Model rates",
        ),
    log:
        logs("figures/fig1.log"),
    benchmark:
        res("benchmarks/figures/fig1.tsv")
    params:
        fig=config["figures"]["fig1"],
        quenching=config["xenon"]["quenching"],
        rois={
            name: {"label": e["label"], "roi_keV": e["efficiency"]["roi_keV"]}
            for name, e in config["experiments"].items()
            if "efficiency" in e  # counting data sets (releases have binned responses)
        },
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/plot_fig1.py"


rule plot_fig2:
    """Paper Fig. 2: CEvNS spectra for the SM and the benchmarks, with efficiencies."""
    input:
        spectra=res("rates/xenon_cevns_benchmarks.parquet"),
        **{f"fold_{e}": res(f"fold/{e}.parquet") for e in counting_experiments()},
    output:
        pdf=res("figures/fig2_spectra.pdf"),
        png=report(res("figures/fig2_spectra.png"), caption="../report/fig2.rst", category="Limits"),
    log:
        logs("figures/fig2.log"),
    benchmark:
        res("benchmarks/figures/fig2.tsv")
    params:
        fig=config["figures"]["fig2"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/plot_fig2.py"


rule plot_fig3:
    """Paper Fig. 3: coupling limits versus mediator mass, one panel per model (the 2026 releases: Fig. 5)."""
    input:
        limits=paper_limit_files(),
        **reference_limit_inputs(),
    output:
        pdf=res("figures/fig3_limits.pdf"),
        png=report(res("figures/fig3_limits.png"), caption="../report/fig3.rst", category="Limits"),
    log:
        logs("figures/fig3.log"),
    benchmark:
        res("benchmarks/figures/fig3.tsv")
    params:
        fig=config["figures"]["fig3"],
        combinations=config.get("combinations", {}),
        version=VERSION,
        input_sha256=input_sha256,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/plot_fig3.py"


rule plot_fig5:
    """Fig. 5: the combined 2026 limits with expected bands against the paper reproduction and COHERENT."""
    input:
        unpack(fig5_inputs),
    output:
        pdf=res("figures/fig5_limits_2026.pdf"),
        png=report(res("figures/fig5_limits_2026.png"), caption="../report/fig5.rst", category="Limits"),
    log:
        logs("figures/fig5.log"),
    benchmark:
        res("benchmarks/figures/fig5.tsv")
    params:
        fig=config["figures"]["fig5"],
        models=fig5_models(),
        coupling_ranges=config["figures"]["fig3"]["coupling_ranges"],
        bbn=config["figures"]["fig3"]["bbn"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/plot_fig5.py"
