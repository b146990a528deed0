"""The XENONnT 2026 data sets, their closure and Fig. 5 are in the DAG (dry run only)."""

import pytest

from .conftest import snakemake

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


def test_new_rules_and_outputs_in_the_dag(tmp_path):
    out = snakemake(tmp_path, "-n", "--quiet", "rules").stdout
    for rule in (
        "closure_xenonnt",
        "plot_fig5",
        "limits_xenonnt_2026",
        "limits_xenonnt_s2only_2026",
        "limits_xenon_2026",
    ):
        assert rule in out, rule
    listing = snakemake(tmp_path, "-n", "--summary").stdout
    for path in EXPECTED:
        assert path in listing, path
    # the leptophilic scalar (electron recoils) has no curve on the nuclear-recoil-only releases
    assert "leptophilic_scalar_xenonnt_2026" not in listing and "leptophilic_scalar_xenon_2026" not in listing
