"""Benchmark: tabulate CEvNS, Migdal and nu-e rates for all solar fluxes on the paper's
1000-point grids (config.yaml), without Snakemake start-up.

    NUFOG_DATA_MIRROR=../shared/data python benchmarks/bench_rates.py
"""

import time

from _common import paper_config_and_inputs

from nufog import rates


def main() -> None:
    config, files = paper_config_and_inputs()
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
