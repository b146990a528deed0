# Paper figures. Plots are cheap: run them on the submit host.


localrules:
    plot_fig1,


rule plot_fig1:
    """Paper Fig. 1: CEvNS (in keV_ee), Migdal and nu-e rates in xenon."""
    input:
        cevns="results/rates/xenon_cevns.parquet",
        migdal="results/rates/xenon_migdal.parquet",
        electron="results/rates/xenon_electron.parquet",
    output:
        pdf=report(
            "results/figures/fig1_sm_rates.pdf",
            caption="../report/fig1.rst",
            category="Standard-Model rates",
        ),
        png="results/figures/fig1_sm_rates.png",
    log:
        "logs/figures/fig1.log",
    params:
        fig=config["figures"]["fig1"],
        quenching=config["xenon"]["quenching"],
        version=VERSION,
    script:
        "../../scripts/plot_fig1.py"
