"""Benchmark: end-to-end rebuild of the paper configuration from cached inputs, with 1 and 2 cores.

Copies the input cache (resources/downloads, filled by a previous run or by NUFOG_DATA_MIRROR) into
fresh directories, runs `snakemake --cores N` there and prints wall time, the speed-up from 1 to 2
cores and the peak memory of any job (max_rss of the rule benchmarks).

    NUFOG_DATA_MIRROR=../shared/data python benchmarks/bench_workflow.py
"""

import csv
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT, snakemake_command


def build(workdir: Path, cores: int) -> float:
    cmd = snakemake_command(workdir, [ROOT / "config.yaml"], cores, "--quiet", "all")
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def peak_rss_mb(workdir: Path) -> tuple[float, str]:
    peak, which = 0.0, ""
    for tsv in (workdir / "results" / "paper" / "benchmarks").rglob("*.tsv"):
        with open(tsv) as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                rss = float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0
                if rss > peak:
                    peak, which = rss, str(tsv.relative_to(workdir / "results" / "paper" / "benchmarks"))
    return peak, which


def main() -> None:
    os.environ.setdefault("NUFOG_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        t_fetch = build(seed, 2)  # fills the input cache (and builds once)
        times = {}
        for cores in (1, 2):
            work = Path(tmp) / f"cores{cores}"
            shutil.copytree(seed / "resources", work / "resources")
            times[cores] = build(work, cores)
        peak, which = peak_rss_mb(Path(tmp) / "cores2")
    print(f"first build incl. fetching inputs from the mirror (2 cores): {t_fetch:6.1f} s")
    print(f"rebuild from cached inputs, --cores 1: {times[1]:6.1f} s")
    print(f"rebuild from cached inputs, --cores 2: {times[2]:6.1f} s   speed-up {times[1] / times[2]:.2f}x")
    print(f"peak memory of a job: {peak:.0f} MB ({which})")


if __name__ == "__main__":
    main()
