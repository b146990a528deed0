# XENONnT 2026 public data releases (issue 10): closure of nufog's folding and likelihood against the
# collaboration's own numbers. The data sets themselves are `experiments:` entries (rules fold, limits_*).


if closure_datasets():

    rule closure_xenonnt:
        """nufog against the XENONnT 2026 releases: S2-only CEvNS and WIMP closure, WIMP sensitivity, 4-D 8B rate and flux fit."""
        input:
            unpack(closure_inputs),
        output:
            s2only_cevns=CLOSURE_OUTPUTS["s2only_cevns"],
            s2only_wimp6=CLOSURE_OUTPUTS["s2only_wimp6"],
            s2only_wimp_si=CLOSURE_OUTPUTS["s2only_wimp_si"],
            b8=CLOSURE_OUTPUTS["b8"],
            summary=CLOSURE_OUTPUTS["summary"],
        log:
            logs("closure/xenonnt.log"),
        benchmark:
            res("benchmarks/closure/xenonnt.tsv")
        params:
            solar=config["solar"],
            xenon=config["xenon"],
            experiments=lambda wc: {n: config["experiments"][n] for n in closure_datasets()},
            limits=lambda wc: fold_limit_keys(),
            s2only=lambda wc: closure_datasets()[0],
            four_d=lambda wc: closure_datasets()[1],
            version=VERSION,
            input_sha256=input_sha256,
        resources:
            mem_mb=lambda wc, attempt: 3000 * attempt,
        conda:
            "../envs/analysis.yaml"
        script:
            "../../scripts/closure_xenonnt.py"
