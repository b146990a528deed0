"""Timings of the COHERENT CsI 2021 analysis (not a test).

Prints the median wall and CPU (process) time over ``--repeat`` runs of: building the model
(response matrix, kernels, time tables), building the data sets of the shared likelihood core
(:class:`nufog.coherent_fits.CsICore`), the SM fit with its profile-likelihood interval on the core, a
200-mass exact limit scan per mediator model with every point fully profiled, and a 100 x 100 NSI map
over -1..1 on the core.
Run it on one core (the CPU time is the robust figure on a shared machine)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 \\
        PYTHONPATH=src python benchmarks/bench_coherent.py [--data DIR] [--quick] [--repeat N]

``DIR`` is the data mirror root (default ``$NUFOG_DATA_MIRROR`` or ``/work/shared/data``).
Targets (issue 9): SM fit with interval <= 0.05 s; 200 masses <= 2 s per model; NSI 100 x 100 <= 5 s.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _common import timed

from nufog.coherent import CsICore, CsIModel, mediator_limit, nsi_scan, sm_fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NUFOG_DATA_MIRROR", "/work/shared/data"))
    parser.add_argument("--quick", action="store_true", help="20 masses and a 30 x 30 map")
    parser.add_argument("--repeat", type=int, default=3, help="runs per task (medians are printed)")
    parser.add_argument("--skip-limits", action="store_true", help="leave out the exact mediator-limit scans")
    args = parser.parse_args()
    n_mass, n_nsi = (20, 30) if args.quick else (200, 100)
    line = "{:<26s} wall {:6.3f} s  cpu {:6.3f} s   {}"

    model, w, c, _ = timed(lambda: CsIModel.build(data_dir=Path(args.data) / "coherent_csi2021"), args.repeat)
    print(line.format("build model", w, c, ""))

    core, w, c, _ = timed(lambda: CsICore.build(model), args.repeat)
    print(line.format("build core data sets", w, c, "(includes the exact SM fit that centres the templates)"))

    res, w, c, _ = timed(lambda: sm_fit(core), max(args.repeat, 5))
    info = (
        f"N_fit = {res['n_fit']:.2f} -{res['n_fit_err_low']:.2f} +{res['n_fit_err_high']:.2f}, "
        f"N_SM = {res['n_sm']:.2f}, chi2/ndf = {res['chi2']:.2f}/{res['ndf']}, ok = {res['fit_ok']}"
    )
    print(line.format("SM fit + profile interval", w, c, info))

    masses = np.geomspace(0.01, 1e4, n_mass)
    for name in () if args.skip_limits else ("universal_scalar", "higgs_scalar", "universal_vector"):
        lim, w, c, _ = timed(lambda name=name: mediator_limit(name, masses, model=model), args.repeat)
        at = {m: float(np.interp(np.log(m), np.log(masses), lim.coupling_limit)) for m in (1.0, 10.0, 100.0)}
        info = "  ".join(f"G({m:g} MeV) = {g:.4e}" for m, g in at.items()) + f"  ok {lim.fit_ok.sum()}/{n_mass}"
        print(line.format(f"{name} {n_mass} masses", w, c, info))

    grid = np.linspace(-1.0, 1.0, n_nsi)
    scan, w, c, _ = timed(lambda: nsi_scan(grid, grid, core), args.repeat)
    info = f"Delta chi2(SM) = {scan['delta_chi2_sm']:.4f}, ok {scan['fit_ok'].sum()}/{scan['fit_ok'].size}"
    print(line.format(f"NSI {n_nsi} x {n_nsi} map", w, c, info))


if __name__ == "__main__":
    main()
