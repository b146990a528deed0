"""Per-configuration result folders (issue 11, section 3): config key `run` names the folders
results/{run}/ and logs/{run}/; the download cache is shared between runs. Dry runs only, except
the test that reuses the shared small build."""

import re

import pytest

from nufog.__main__ import main

from ..conftest import CONFIG
from .conftest import CI_CONFIG, snakemake

pytestmark = pytest.mark.workflow

CACHE = "resources/downloads/"


def planned(text: str) -> dict[str, set[str]]:
    """Files a dry run (its printed output) would write, by kind (output, log, benchmark)."""
    out = {"output": set(), "log": set(), "benchmark": set()}
    for m in re.finditer(r"^\s+(output|log|benchmark): (.+)$", text, flags=re.M):
        out[m.group(1)].update(p.strip() for p in m.group(2).split(","))
    return out


def test_two_runs_plan_their_files_in_separate_folders(ci_dry_run, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("run: other\n")
    proc = snakemake(tmp_path / "work", "-n", configfiles=(CONFIG, CI_CONFIG, other))
    # layers that name their run are quiet about it (the warning: the next test but one)
    assert "sets no `run`" not in proc.stdout + proc.stderr and "sets no `run`" not in ci_dry_run
    ci, oth = planned(ci_dry_run), planned(proc.stdout + proc.stderr)
    for files, run in ((ci, "ci"), (oth, "other")):
        outputs = {p for p in files["output"] if not p.startswith(CACHE)}
        assert len(outputs) > 40 and all(p.startswith(f"results/{run}/") for p in outputs), sorted(outputs)[:5]
        assert files["benchmark"] and all(p.startswith(f"results/{run}/benchmarks/") for p in files["benchmark"])
        assert files["log"] and all(p.startswith(f"logs/{run}/") for p in files["log"])
    # the same DAG in another folder; the download cache is the same for both
    assert {p.replace("results/ci/", "results/other/", 1) for p in ci["output"]} == oth["output"]
    assert {p for p in ci["output"] if p.startswith(CACHE)} == {p for p in oth["output"] if p.startswith(CACHE)}


def run_name_message(name: str) -> str:
    return (
        f"config key 'run': {name!r} is not allowed: must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (a folder name "
        "under results/: letters, digits, '_', '.', '-', starting with a letter or digit)"
    )


@pytest.mark.parametrize("name", ["ci/../paper", "..", "/tmp/x"])
def test_run_name_leaving_results_is_refused(tmp_path, capsys, name):
    """The message, from the config check that common.smk runs (as test_workflow.py's bad configs)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"run: {name!r}\n")
    assert main(["check-config", str(CONFIG), str(CI_CONFIG), str(bad)]) == 1
    lines = [line.strip() for line in capsys.readouterr().err.splitlines() if "'run'" in line]
    assert lines == [run_name_message(name)]


def test_run_name_leaving_results_is_refused_before_any_job(tmp_path):
    """End to end, one case: Snakemake stops with that message before any job."""
    name = "ci/../paper"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"run: {name!r}\n")
    proc = snakemake(tmp_path / "work", "-n", configfiles=(CONFIG, CI_CONFIG, bad), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert [line.strip() for line in out.splitlines() if "'run'" in line] == [run_name_message(name)]
    assert "Job stats" not in out and not (tmp_path / "work" / "results").exists()


def test_layered_config_without_run_warns_that_it_writes_into_paper(tmp_path):
    """The warning comes while the workflow is read (so --list-rules shows it without a DAG)."""
    layer = tmp_path / "cl95.yaml"
    layer.write_text("limits:\n  cl: 0.95\n")
    proc = snakemake(tmp_path / "work", "--list-rules", configfiles=(CONFIG, layer))
    assert f"nufog: {layer} sets no `run`, so its results go to results/paper/ and replace" in proc.stdout + proc.stderr
    # a layer that names its run, or the paper config alone, is quiet about it: asserted on the dry
    # runs of test_two_runs_plan_their_files_in_separate_folders and test_dry_run_of_paper_config


def test_another_run_reuses_the_download_cache_and_leaves_the_first_alone(built, tmp_path):
    """Over the shared small build (run `ci`): run `other` plans every job but no download, and
    switching back to `ci` finds everything up to date (so a rerun of the build is a no-op)."""
    other = tmp_path / "other.yaml"
    other.write_text("run: other\n")
    proc = snakemake(built, "-n", configfiles=(CONFIG, CI_CONFIG, other))
    out = proc.stdout + proc.stderr
    assert "download_input" not in out and "download_registry" not in out
    assert "tabulate_rates" in out and "plot_fig3" in out
    assert all(p.startswith("results/other/") for p in planned(out)["output"])
    back = snakemake(built, "-n")
    assert "Nothing to be done" in back.stdout + back.stderr
