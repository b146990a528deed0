"""Timings of the binned-likelihood limits (issue 8, section 6; not a test).

Prints the median wall and CPU (process) time over ``--repeat`` runs of:

(a) one profiled Wilks limit curve of ``--model`` (default universal_scalar) on the 200 masses of config.yaml
    for the ``xenon_2024`` combination (PandaX-4T S1+S2 + S2-only + XENONnT, flux_8B shared), with its
    expected median and +-1/2 sigma bands (target <= 2 s on one core);
(b) Feldman-Cousins for one counting data set (PandaX-4T S1+S2, nuisances fixed) at 200 masses, with its
    bands (target <= 5 s);
(c) the curve of (a) without bands.

The data sets are built once (fold_experiment -> dataset_from_fold -> combine, not timed). Run it on one
core (the CPU time is the robust figure on a shared machine)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 1 \\
        PYTHONPATH=src python benchmarks/bench_likelihood.py [--repeat N] [--profile a|b|c]

``--profile`` runs one case under cProfile and prints the 25 most expensive calls (cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

import numpy as np
import yaml
from _common import timed

from nufog.analysis import fold_experiment
from nufog.config import load_config
from nufog.fold import dataset_from_fold
from nufog.inference import LimitSettings, coupling_limits
from nufog.likelihood import combine

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NUFOG_DATA_MIRROR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--model", default="universal_scalar")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", choices=["a", "b", "c"], help="cProfile one case instead of timing")
    args = parser.parse_args()

    config = load_config(ROOT / "config.yaml")
    manifest = yaml.safe_load((ROOT / "resources" / "inputs.yaml").read_text())["inputs"]
    files = {k: Path(args.data) / v["file"] for k, v in manifest.items() if "file" in v}
    members = config["combinations"]["xenon_2024"]["datasets"]
    t0 = time.perf_counter()
    folds = {name: fold_experiment(files, config, name) for name in members}
    parts = [dataset_from_fold(*folds[name], args.model) for name in members]
    joint = combine(parts, "xenon_2024")
    counting = parts[members.index("pandax4t_s1s2")]
    print(f"set-up (fold {len(members)} data sets, not timed): {time.perf_counter() - t0:.1f} s")
    print(
        f"xenon_2024 / {args.model}: {joint.n_bins} bins, {joint.masses_MeV.size} masses, "
        f"nuisances {list(dict.fromkeys(n for p in parts for n in p.nuisances))}"
    )

    wilks = LimitSettings(method="wilks", profile=True)
    fc = LimitSettings(method="feldman_cousins", profile=False)
    cases = {
        "a": ("(a) profiled Wilks curve + bands, xenon_2024", lambda: coupling_limits(joint, wilks), 2.0),
        "b": ("(b) Feldman-Cousins + bands, pandax4t_s1s2", lambda: coupling_limits(counting, fc), 5.0),
        "c": ("(c) profiled Wilks curve, no bands", lambda: coupling_limits(joint, wilks, expected=False), None),
    }
    if args.profile:
        label, fn, _ = cases[args.profile]
        print(f"cProfile of {label}:")
        prof = cProfile.Profile()
        prof.runcall(fn)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return

    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)")
    for label, fn, target in cases.values():
        out, wall, cpu, best = timed(fn, args.repeat)
        n_ok = int(np.sum(out["fit_ok"]))
        goal = f"  (target <= {target:g} s)" if target else ""
        print(
            f"{label}: median wall {wall:.3f} s, median CPU {cpu:.3f} s, min wall {best:.3f} s "
            f"over {args.repeat}; fit_ok {n_ok}/{out['fit_ok'].size}{goal}"
        )
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
