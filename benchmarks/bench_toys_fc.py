"""Benchmark: the limit methods beyond the paper on fold files (issue 8 section 3), one model, 200 masses.

- Feldman-Cousins: exact one-bin (PandaX-4T S1+S2, nuisances fixed) and asymptotic (the same with flux_8B
  profiled; the 4-D XENONnT 2026 data set), observed limit with the expected bands;
- toy-MC CL_s (``cls_mode: toys``) on the 4-D XENONnT 2026 data set: with ``--toys N`` toys at
  ``--masses M`` masses (the cost is proportional to masses x toys; the figure for 200 masses x 2000 toys
  is extrapolated from the measured rate and printed as such).

    PYTHONPATH=src python benchmarks/bench_toys_fc.py --fold-dir results/paper/fold [--toys 100 --masses 200]

Prints wall and CPU seconds (one process; pin it with ``taskset -c 1`` for one core).
"""

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nufog.fold import dataset_from_fold
from nufog.inference import LimitSettings, coupling_limits
from nufog.io import read_table

ROOT = Path(__file__).resolve().parents[1]


def subset_masses(data, idx):
    """The data set at the masses ``idx`` only (signal terms and their shape variations)."""

    def one(sig):
        mods = tuple(
            replace(m, down=m.down[:, idx], up=m.up[:, idx]) if m.kind == "shape" else m for m in sig.modifiers
        )
        return replace(sig, terms=sig.terms[:, idx], modifiers=mods)

    return replace(data, signals=tuple(one(s) for s in data.signals), masses_MeV=data.masses_MeV[idx])


def run(label, data, settings, expected=True):
    t0, c0 = time.perf_counter(), time.process_time()
    out = coupling_limits(data, settings, expected)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = np.asarray(out["fit_ok"]).mean()
    print(f"{label:78s} {wall:8.2f} s wall {cpu:8.2f} s CPU  fit_ok {ok:.3f}", flush=True)
    return out, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold-dir", type=Path, default=ROOT / "results" / "paper" / "fold")
    parser.add_argument("--model", default="universal_scalar")
    parser.add_argument("--toys", type=int, default=100, help="toys per tested coupling (default 100, the minimum)")
    parser.add_argument("--masses", type=int, default=200, help="masses of the toy run (log-spaced subset)")
    parser.add_argument("--skip-fc", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log the toys' progress")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.INFO)

    def load(name):
        table, meta = read_table(args.fold_dir / f"{name}.parquet")
        return dataset_from_fold(table, meta, args.model)

    s1s2, nt26 = load("pandax4t_s1s2"), load("xenonnt_2026")
    print(f"model {args.model}; xenonnt_2026: {nt26.n_bins} bins, {len(nt26.nuisances)} nuisances")
    if not args.skip_fc:
        fc = LimitSettings(method="feldman_cousins")
        run("FC exact, pandax4t_s1s2 (nuisances fixed), 200 masses, with bands", s1s2, replace(fc, profile=False))
        run("FC asymptotic, pandax4t_s1s2 (flux_8B profiled), 200 masses, with bands", s1s2, fc)
        run("FC asymptotic, xenonnt_2026 (profiled), 200 masses, observed only", nt26, fc, expected=False)
        run("FC asymptotic, xenonnt_2026 (profiled), 200 masses, with bands", nt26, fc)
        run(
            "CLs asymptotic, xenonnt_2026 (profiled), 200 masses, with bands (reference)",
            nt26,
            replace(fc, method="cls"),
        )
    idx = np.unique(np.linspace(0, nt26.masses_MeV.size - 1, args.masses).round().astype(int))
    data = subset_masses(nt26, idx)
    toys = LimitSettings(method="cls", cls_mode="toys", toys={"n": args.toys, "seed": 1})
    out, cpu = run(f"CLs toys, xenonnt_2026 (profiled), {idx.size} masses x {args.toys} toys, with bands", data, toys)
    asym = coupling_limits(data, replace(toys, cls_mode="asymptotic"), expected=False)["coupling_limit"]
    ratio = out["coupling_limit"] / asym
    rel = out["coupling_limit_mc_error"] / out["coupling_limit"]
    print(
        f"  toy / asymptotic limit: median {np.nanmedian(ratio):.3f} (range {np.nanmin(ratio):.3f}-"
        f"{np.nanmax(ratio):.3f}); MC error median {np.nanmedian(rel):.3f} (relative)"
    )
    rate = cpu / (idx.size * args.toys)
    print(
        f"  {1e3 * rate:.1f} ms CPU per (mass x toy): 200 masses x 2000 toys extrapolate to "
        f"{rate * 200 * 2000 / 3600:.1f} h CPU"
    )


if __name__ == "__main__":
    main()
