"""The XENONnT 2026 data sets, their closure and Fig. 5 are in the DAG (the shared dry run of the small
config: every job it would run and the outputs it plans)."""

import re

import pytest

pytestmark = pytest.mark.workflow

EXPECTED = [
    "results/ci/fold/xenonnt_s2only_2026.parquet",
    "results/ci/fold/xenonnt_2026.parquet",
    "results/ci/limits/universal_scalar_xenonnt_s2only_2026.parquet",
    "results/ci/limits/higgs_scalar_xenonnt_2026.parquet",
    "results/ci/limits/universal_vector_xenon_2026.parquet",
    "results/ci/closure/xenonnt_s2only_cevns.csv",
    "results/ci/closure/xenonnt_s2only_wimp_si.csv",
    "results/ci/closure/xenonnt_2026_b8.csv",
    "results/ci/closure/xenonnt_closure.json",
    "results/ci/figures/fig5_limits_2026.pdf",
]


def test_new_rules_and_outputs_in_the_dag(ci_dry_run):
    jobs = {m.group(1) for m in re.finditer(r"^(?:local)?rule (\w+):$", ci_dry_run, flags=re.M)}
    for rule in (
        "closure_xenonnt",
        "plot_fig5",
        "limits_xenonnt_2026",
        "limits_xenonnt_s2only_2026",
        "limits_xenon_2026",
    ):
        assert rule in jobs, rule
    for path in EXPECTED:
        assert re.search(rf"^\s+output: (.*, )?{re.escape(path)}(,|$)", ci_dry_run, flags=re.M), path
    # the leptophilic scalar (electron recoils) has no curve on the nuclear-recoil-only releases
    assert "leptophilic_scalar_xenonnt_2026" not in ci_dry_run and "leptophilic_scalar_xenon_2026" not in ci_dry_run
