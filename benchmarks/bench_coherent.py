"""Timings of the COHERENT CsI 2021 analysis (not a test).

Prints the wall time of: building the analysis (response matrix, kernels, time tables), the SM fit
with its profile-likelihood interval, a 200-mass limit scan per mediator model with every point fully
profiled, and a 100 x 100 NSI map. Usage::

    PYTHONPATH=src python benchmarks/bench_coherent.py [--data DIR] [--quick]

``DIR`` is the data mirror root (default ``$NUFOG_DATA_MIRROR`` or ``/work/shared/data``).
Targets (brief): SM fit < 5 s; 200 masses per model < 60 s; NSI 100 x 100 < 60 s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from nufog.coherent import CsIAnalysis, mediator_limit, nsi_scan, sm_fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NUFOG_DATA_MIRROR", "/work/shared/data"))
    parser.add_argument("--quick", action="store_true", help="20 masses and a 30 x 30 map")
    args = parser.parse_args()
    n_mass, n_nsi = (20, 30) if args.quick else (200, 100)

    t0 = time.perf_counter()
    analysis = CsIAnalysis(data_dir=Path(args.data) / "coherent_csi2021")
    print(f"build analysis            {time.perf_counter() - t0:7.2f} s")

    t0 = time.perf_counter()
    res = sm_fit(analysis)
    dt = time.perf_counter() - t0
    print(
        f"SM fit + profile interval {dt:7.2f} s   N_fit = {res['n_fit']:.1f} "
        f"-{res['n_fit_err_low']:.1f} +{res['n_fit_err_high']:.1f}, N_SM = {res['n_sm']:.1f}, "
        f"chi2/ndf = {res['chi2']:.1f}/{res['ndf']}"
    )

    masses = np.geomspace(0.1, 1e4, n_mass)
    for model in ("universal_scalar", "higgs_scalar", "universal_vector"):
        t0 = time.perf_counter()
        lim = mediator_limit(model, masses, analysis=analysis)
        dt = time.perf_counter() - t0
        at = {m: float(np.interp(np.log(m), np.log(masses), lim)) for m in (1.0, 10.0, 100.0, 1000.0)}
        print(
            f"{model:<18s} {n_mass} masses {dt:7.2f} s   " + "  ".join(f"G({m:g} MeV) = {g:.3e}" for m, g in at.items())
        )

    grid = np.linspace(-0.2, 0.6, n_nsi)
    t0 = time.perf_counter()
    scan = nsi_scan(grid, grid, analysis)
    dt = time.perf_counter() - t0
    print(
        f"NSI {n_nsi} x {n_nsi} map        {dt:7.2f} s   Delta chi2(SM) = {scan['delta_chi2_sm']:.2f}, "
        f"best (eps_u, eps_d) = ({scan['best'][0]:.3f}, {scan['best'][1]:.3f})"
    )


if __name__ == "__main__":
    main()
