# COHERENT CsI 2021 fit branch (paper appendix): SM fit, NSI map, light-mediator limits.


rule coherent_sm_fit:
    """SM fit: CEvNS count with its profile-likelihood error, nuisances, chi^2/ndf; projections."""
    input:
        unpack(coherent_inputs),
    output:
        fit=res("coherent/sm_fit.json"),
        pdf=res("figures/coherent_projections.pdf"),
        png=report(
            res("figures/coherent_projections.png"), caption="../report/coherent_projections.rst", category="COHERENT"
        ),
    log:
        logs("coherent/sm_fit.log"),
    benchmark:
        res("benchmarks/coherent/sm_fit.tsv")
    params:
        coherent=config["coherent"],
        data_dir=COHERENT_DIR,
        version=VERSION,
        input_sha256=input_sha256,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/coherent_fit.py"


rule coherent_nsi:
    """Delta chi^2 over (eps_ee^uV, eps_ee^dV), nuisances profiled at every point; fit_ok per point."""
    input:
        unpack(coherent_inputs),
    output:
        res("coherent/nsi_scan.parquet"),
    log:
        logs("coherent/nsi_scan.log"),
    benchmark:
        res("benchmarks/coherent/nsi_scan.tsv")
    params:
        coherent=config["coherent"],
        data_dir=COHERENT_DIR,
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/coherent_nsi.py"


rule coherent_nsi_intervals:
    """One-dimensional NSI profiles (eps_ee^uV at eps_ee^dV = 0 and the reverse) and their intervals
    at limits.cl (1 dof), nuisances profiled at every point."""
    input:
        unpack(coherent_inputs),
    output:
        intervals=res("coherent/nsi_intervals.csv"),
        profiles=res("coherent/nsi_profiles.parquet"),
    log:
        logs("coherent/nsi_intervals.log"),
    benchmark:
        res("benchmarks/coherent/nsi_intervals.tsv")
    params:
        coherent=config["coherent"],
        cl=config["limits"]["cl"],
        data_dir=COHERENT_DIR,
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/coherent_nsi_intervals.py"


rule coherent_limits:
    """Coupling-product limits per mediator mass of every `coherent.models` model, six nuisances profiled at
    every point; fit_ok per mass. One job: the CsIModel is built once."""
    input:
        unpack(coherent_inputs),
    output:
        **{m: COHERENT_EXACT_LIMITS.format(model=m) for m in config["coherent"]["models"]},
    log:
        logs("coherent/limits_exact.log"),
    benchmark:
        res("benchmarks/coherent/limits_exact.tsv")
    params:
        coherent=config["coherent"],
        data_dir=COHERENT_DIR,
        masses=config["limits"]["m_med_MeV"],
        cl=config["limits"]["cl"],
        models={
            m: {k: v for k, v in config["models"][m].items() if k != "experiments"} for m in config["coherent"]["models"]
        },
        hadronic=config.get("hadronic"),
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        runtime=lambda wc, attempt: 60 * attempt,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/coherent_limits.py"


rule plot_fig4:
    """Paper Fig. 4: COHERENT CsI NSI allowed region."""
    input:
        res("coherent/nsi_scan.parquet"),
    output:
        pdf=res("figures/fig4_coherent_nsi.pdf"),
        png=report(res("figures/fig4_coherent_nsi.png"), caption="../report/fig4.rst", category="COHERENT"),
    log:
        logs("figures/fig4.log"),
    benchmark:
        res("benchmarks/figures/fig4.tsv")
    params:
        cl=config["limits"]["cl"],
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/plot_fig4.py"



ruleorder: fold_coherent > fold

rule fold_coherent:
    """COHERENT CsI as a data set of the core: PE x time templates (backgrounds, SM CEvNS, new-physics terms
    per model and mass; efficiency and time-offset shape variations) in the fold format."""
    input:
        unpack(coherent_inputs),
    output:
        res("fold/{experiment}.parquet"),
    wildcard_constraints:
        experiment="|".join(map(re.escape, COHERENT_FOLDS)) or "(?!)",
    log:
        logs("fold/{experiment}.log"),
    benchmark:
        res("benchmarks/fold/{experiment}.tsv")
    params:
        coherent=config["coherent"],
        data_dir=COHERENT_DIR,
        masses=config["limits"]["m_med_MeV"],
        label=lambda wc: config["experiments"][wc.experiment].get("label", wc.experiment),
        models=lambda wc: models_using(wc.experiment),
        hadronic=config.get("hadronic"),
        version=VERSION,
        input_sha256=input_sha256,
    resources:
        mem_mb=mass_scaled_mem_mb(1.0),  # big scan: 6.5 GB at 10^4 masses
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/fold_coherent.py"
