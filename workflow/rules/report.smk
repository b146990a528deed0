# The HTML report (`snakemake --report results/{run}/report.html`): tables as HTML pages and the front page.
# Figures are registered as PNG in figures.smk / coherent.smk (a PDF in an iframe stays blank in
# browsers without a PDF viewer); the PDFs remain outputs.


localrules:
    report_tables,
    hepdata,


rule report_tables:
    """Every results table as an HTML page, and the front-page fragment with the headline numbers."""
    input:
        signal_limits=res("tables/signal_limits.csv"),
        table1=res("tables/table1.csv"),
        limits_summary=res("tables/limits_summary.csv"),
        coherent_fit=res("coherent/sm_fit.json"),
    output:
        headline=report(res("report/headline.html"), caption="../report/headline.rst", category="Overview"),
        signal_limits=report(
            res("report/tables/signal_limits.html"), caption="../report/signal_limits.rst", category="Tables"
        ),
        table1=report(res("report/tables/table1.html"), caption="../report/table1.rst", category="Tables"),
        limits_summary=report(
            res("report/tables/limits_summary.html"), caption="../report/limits_summary.rst", category="Tables"
        ),
    log:
        logs("report/tables.log"),
    benchmark:
        res("benchmarks/report/tables.tsv")
    params:
        titles={
            "signal_limits": "Signal limits N_lim per data set",
            "table1": "Paper Table 1",
            "limits_summary": "Coupling-product limits at the summary masses",
        },
        models=config["models"],
        coherent_label=config["coherent"]["label"],
        curve_labels={name: label for name, (_, _, label) in LIMIT_JOBS.items()},
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/report_pages.py"


if closure_tables():

    localrules:
        report_closure_tables,

    rule report_closure_tables:
        """The closure-test tables (results/{run}/closure/*.csv) as HTML pages of the report, in one job."""
        input:
            **{n: res(f"closure/{n}.csv") for n in closure_tables()},
        output:
            **{
                n: report(res(f"report/closure/{n}.html"), caption="../report/closure_table.rst", category="Closure tests")
                for n in closure_tables()
            },
        log:
            logs("report/closure_tables.log"),
        benchmark:
            res("benchmarks/report/closure_tables.tsv")
        params:
            titles={n: f"Closure test: {n}" for n in closure_tables()},
            version=VERSION,
        conda:
            "../envs/analysis.yaml"
        script:
            "../../scripts/report_pages.py"


rule hepdata:
    """HEPData record: every limit curve (observed and, when present, expected median and bands) as YAML."""
    input:
        limits=all_limit_files(),
    output:
        submission=res("hepdata/submission.yaml"),
        tables=[res(f"hepdata/{Path(p).stem}.yaml") for p in all_limit_files()],
    log:
        logs("report/hepdata.log"),
    benchmark:
        res("benchmarks/report/hepdata.tsv")
    params:
        models=config["models"],
        comment=(
            "Limits on light mediators coupling to neutrinos from dark-matter detector data "
            "(nufog; reproduces arXiv:2411.14206)."
        ),
        version=VERSION,
    conda:
        "../envs/analysis.yaml"
    script:
        "../../scripts/write_hepdata.py"
