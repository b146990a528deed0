"""Same inputs, same bytes: a second build in another directory gives identical outputs.

The second build makes one output of every kind the workflow writes, each from a different rule
(rates Parquet, a limit curve and its Delta chi^2 map gathered from mass chunks, CSV and Markdown
tables, the COHERENT JSON fit, a PDF and PNG figure), from a copy of the input cache, and every
file it makes is compared byte for byte with the shared build. The other outputs come from the
same writers (nufog.io, nufog.plotting.save_and_close).
"""

import shutil

import pytest
import yaml

from ..conftest import CONFIG
from .conftest import snakemake

pytestmark = pytest.mark.workflow

COMPARED = {".parquet", ".pdf", ".png", ".csv", ".md", ".json"}


def test_second_build_in_another_directory_is_byte_identical(built, tmp_path):
    model, cfg = next(iter(yaml.safe_load(CONFIG.read_text())["models"].items()))
    targets = (
        "results/ci/figures/fig1_sm_rates.pdf",  # tabulate_rates x 3, plot_fig1 (pdf, png)
        f"results/ci/limits/{model}_{cfg['experiments'][0]}.parquet",  # scan_limits_chunk x 2, gather_limits
        "results/ci/tables/table1.md",  # experiment_tables (csv, md)
        "results/ci/coherent/sm_fit.json",  # coherent_sm_fit
    )
    # the inputs are copied with their times, so only the targets' own jobs run (no downloads)
    shutil.copytree(built / "resources", tmp_path / "resources")
    proc = snakemake(tmp_path, *targets)
    assert "download_input" not in proc.stdout + proc.stderr
    second = sorted(p.relative_to(tmp_path) for p in (tmp_path / "results").rglob("*") if p.suffix in COMPARED)
    assert {p.suffix for p in second} == COMPARED and len(second) >= 12, second
    different = [str(p) for p in second if (built / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not different, f"outputs differ between builds: {different}"
