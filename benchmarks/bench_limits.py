"""Benchmark: the paper's closed-form one-bin limit curves (:mod:`nufog.limits`) for every (model,
counting experiment) pair of config.yaml on 200 masses, one 200 x 200 Delta chi^2 map, and the scaling of
the curve with the number of masses. (The binned data sets and the profiled likelihood core:
bench_likelihood.py and bench_toys_fc.py.)

    NUFOG_DATA_MIRROR=../shared/data python benchmarks/bench_limits.py
"""

import time

import numpy as np
from _common import paper_config_and_inputs

from nufog.analysis import Setup
from nufog.limits import chi2_map, limit_curve


def main() -> None:
    config, files = paper_config_and_inputs()
    masses = np.geomspace(0.01, 1e4, 200)

    start = time.perf_counter()
    setup = Setup(files, config)
    counting = [name for name, cfg in config["experiments"].items() if "count_sets" in cfg]
    summaries = {name: setup.experiment(name) for name in counting}
    _ = setup.electron_kernel
    t_setup = time.perf_counter() - start

    start = time.perf_counter()
    n_pairs = 0
    for model, cfg in config["models"].items():
        for exp in (e for e in cfg["experiments"] if e in summaries):
            limit_curve(setup.signal(model, summaries[exp]), masses, summaries[exp].n_lim)
            n_pairs += 1
    t_curves = time.perf_counter() - start
    print(f"setup (fluxes, kernels, {len(summaries)} counting experiments): {t_setup:.2f} s")
    print(f"{n_pairs} limit curves x {masses.size} masses: {t_curves:.2f} s")

    s = summaries["xenonnt"]
    sig = setup.signal("universal_vector", s)
    couplings = np.geomspace(1e-13, 1e-3, 200)
    start = time.perf_counter()
    chi2_map(sig, masses, couplings, s.n_obs, s.background)
    print(f"200 x 200 Delta chi^2 map (universal_vector x xenonnt): {time.perf_counter() - start:.3f} s")

    print("limit-curve throughput versus grid size (universal_scalar x xenonnt):")
    sig = setup.signal("universal_scalar", s)
    for n in (100, 1000, 10000):
        m = np.geomspace(0.01, 1e4, n)
        start = time.perf_counter()
        limit_curve(sig, m, s.n_lim)
        dt = time.perf_counter() - start
        print(f"  {n:6d} masses: {dt:7.3f} s  ({dt / n * 1e3:.3f} ms per mass)")


if __name__ == "__main__":
    main()
