# nufog: constraints on new neutrino forces from dark-matter detector data.
# Reproduces arXiv:2411.14206. Run `snakemake --cores 2`; see README.md.
from snakemake.utils import min_version

min_version("9.27")


# before `configfile:`, whose YAML errors would name neither the file nor the line
include: "workflow/rules/preflight.smk"


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/rates.smk"
include: "workflow/rules/limits.smk"
include: "workflow/rules/xenonnt.smk"
include: "workflow/rules/coherent.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
