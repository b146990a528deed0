"""Benchmark: tabulate CEvNS, Migdal and nu-e rates for all solar fluxes on the paper's
1000-point grids (config/config.yaml), without Snakemake start-up.

    NUFOG_DATA_MIRROR=../shared/data python benchmarks/bench_rates.py
"""

import os
import sys
import time
from pathlib import Path

import yaml

from nufog import rates
from nufog.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    config = load_config(ROOT / "config" / "config.yaml")
    mirror = Path(os.environ.get("NUFOG_DATA_MIRROR", ROOT.parent / "shared" / "data"))
    manifest = yaml.safe_load((ROOT / "resources" / "inputs.yaml").read_text())["inputs"]
    files = {name: mirror / e["file"] for name, e in manifest.items()}
    if not all(p.is_file() for p in files.values()):
        sys.exit(f"input mirror incomplete at {mirror}; set NUFOG_DATA_MIRROR")
    params = {k: config[k] for k in ("solar", "xenon", "grids")}
    total = 0.0
    for process in rates.PROCESSES:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            df, _ = rates.tabulate(process, files, params)
            best = min(best, time.perf_counter() - start)
        total += best
        print(f"{process:9s} {len(df):5d} energies x {df.shape[1] - 2} fluxes: {best:6.3f} s (best of 3)")
    print(f"all three processes: {total:.2f} s")


if __name__ == "__main__":
    main()
