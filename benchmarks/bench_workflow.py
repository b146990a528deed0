"""Benchmark: end-to-end rebuild from cached inputs with --cores 2, of the default configuration (the paper
plus the XENONnT 2026 releases) and of config/paper_only.yaml (the paper's analysis alone).

Fills an input cache once (from NUFOG_DATA_MIRROR), then rebuilds each configuration in a fresh
directory ``--repeat`` times, alternating between them (A B A B ...: on a shared machine both see the
same load), and prints the median wall time, the median CPU time of all processes (Snakemake and its
jobs), the number of jobs and the peak memory of any job (max_rss of the rule benchmarks).

    NUFOG_DATA_MIRROR=../shared/data python benchmarks/bench_workflow.py [--repeat 3]
"""

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT, snakemake_command

CONFIGS = {
    "default (config.yaml)": ("paper", [ROOT / "config.yaml"]),
    "paper only (config/paper_only.yaml)": ("paper_only", [ROOT / "config.yaml", ROOT / "config" / "paper_only.yaml"]),
}


def build(workdir: Path, configfiles: list[Path]) -> tuple[float, float]:
    """(wall, CPU of Snakemake and every job) [s] of one build."""
    cmd = snakemake_command(workdir, configfiles, 2, "--quiet", "all")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def job_stats(results: Path) -> tuple[int, float, str]:
    """(jobs, peak max_rss [MB], the job that had it) from a run's benchmark files."""
    files = list((results / "benchmarks").rglob("*.tsv"))
    peak, which = 0.0, ""
    for tsv in files:
        with open(tsv) as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                rss = float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0
                if rss > peak:
                    peak, which = rss, str(tsv.relative_to(results / "benchmarks"))
    return len(files), peak, which


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rebuilds of each configuration (default 3)")
    args = parser.parse_args()
    os.environ.setdefault("NUFOG_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        first = build(seed, CONFIGS["default (config.yaml)"][1])  # fills the input cache
        print(f"first build incl. copying the inputs from the mirror: {first[0]:6.1f} s wall, {first[1]:6.1f} s CPU")
        for i in range(args.repeat):
            for name, (run, files) in CONFIGS.items():
                work = Path(tmp) / f"{run}_{i}"
                shutil.copytree(seed / "resources", work / "resources")
                times[name].append(build(work, files))
                print(f"  {name}: {times[name][-1][0]:6.1f} s wall, {times[name][-1][1]:6.1f} s CPU", flush=True)
                if i < args.repeat - 1:
                    shutil.rmtree(work)
        for name, (run, _) in CONFIGS.items():
            n_jobs, peak, which = job_stats(Path(tmp) / f"{run}_{args.repeat - 1}" / "results" / run)
            wall = statistics.median(t[0] for t in times[name])
            cpu = statistics.median(t[1] for t in times[name])
            print(
                f"rebuild from cached inputs, --cores 2, {name}: median {wall:5.1f} s wall, {cpu:5.1f} s CPU "
                f"({n_jobs} jobs; peak memory of a job {peak:.0f} MB, {which})"
            )


if __name__ == "__main__":
    main()
