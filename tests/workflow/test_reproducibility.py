"""Same inputs, same bytes: a second build in another directory gives identical outputs.

The second build is the smallest DAG that makes one output of every kind the workflow writes, each
from a different rule: the rates Parquet and a PDF and PNG figure (tabulate_rates, plot_fig1), one
fold and its limit curves (fold, limits_<data set>), the CSV and Markdown tables (experiment_tables)
and the COHERENT JSON fit (coherent_sm_fit). It starts from a copy of the input cache and of the
other data sets' fold files (times kept, so they are up to date and only those six jobs run), and
every file it makes is compared byte for byte with the shared build. The other outputs come from
the same writers (nufog.io, nufog.plotting.save_and_close); with a SLURM cluster, test_slurm.py
compares every output of a build in another directory.
"""

import re
import shutil

import pytest
import yaml

from ..conftest import CONFIG
from .conftest import snakemake

pytestmark = pytest.mark.workflow

COMPARED = {".parquet", ".pdf", ".png", ".csv", ".md", ".json"}


def test_second_build_in_another_directory_is_byte_identical(built, tmp_path):
    model, cfg = next(iter(yaml.safe_load(CONFIG.read_text())["models"].items()))
    dataset = cfg["experiments"][0]
    targets = (
        "results/ci/figures/fig1_sm_rates.pdf",  # tabulate_rates (3 parquet), plot_fig1 (pdf, png)
        f"results/ci/limits/{model}_{dataset}.parquet",  # fold, limits_<dataset> (every model's curve)
        "results/ci/tables/table1.md",  # experiment_tables (csv, md), from every fold
        "results/ci/coherent/sm_fit.json",  # coherent_sm_fit (json, pdf, png)
    )
    # inputs and the other data sets' folds copied with their times: only the targets' own jobs run
    shutil.copytree(built / "resources", tmp_path / "resources")
    fold_dir = tmp_path / "results/ci/fold"
    shutil.copytree(built / "results/ci/fold", fold_dir, ignore=shutil.ignore_patterns(f"{dataset}.parquet"))
    copied = {p.relative_to(tmp_path) for p in fold_dir.iterdir()}
    assert copied and not (fold_dir / f"{dataset}.parquet").exists()

    proc = snakemake(tmp_path, *targets)
    out = proc.stdout + proc.stderr
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:", 1)[1].split("Select jobs", 1)[0], re.M))
    assert jobs == {
        "coherent_sm_fit": "1",
        "experiment_tables": "1",
        "fold": "1",
        f"limits_{dataset}": "1",
        "plot_fig1": "1",
        "tabulate_rates": "1",
        "total": "6",
    }, jobs
    made = sorted(
        p.relative_to(tmp_path)
        for p in (tmp_path / "results").rglob("*")
        if p.suffix in COMPARED and p.relative_to(tmp_path) not in copied
    )
    assert {p.suffix for p in made} == COMPARED and len(made) >= 12, made
    different = [str(p) for p in made if (built / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not different, f"outputs differ between builds: {different}"
