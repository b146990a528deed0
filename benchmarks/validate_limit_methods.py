"""Validation figures of the asymptotic Feldman-Cousins construction and of the toy CL_s (README "Likelihood
and limits"; the same comparisons, with tolerances, are tests/unit/test_feldman_cousins.py and test_toys.py).

    PYTHONPATH=src python benchmarks/validate_limit_methods.py

1. exact one-bin FC against the asymptotic construction (b = 3, n = 0..10, and larger counts);
2. asymptotic FC p-values against a toy-MC Neyman construction on three bins with a profiled nuisance;
3. toy CL_s against the exact one-bin CL_s (1 observed on 2.16) and the asymptotic CL_s (three bins of 10^4).
"""

import numpy as np

from nufog.feldman_cousins import asymptotic_limits, feldman_cousins_interval, log_pvalue, toy_pvalue
from nufog.inference import LimitSettings, coupling_limits, exact_cls_upper, signal_dataset
from nufog.likelihood import Dataset, Modifier, Sample, Signal
from nufog.statistic import Statistic


def three_bins(observed, bkg=(40.0, 30.0, 30.0), sigma=0.1):
    bkg = np.asarray(bkg)
    return Dataset(
        "three",
        np.asarray(observed, dtype=float),
        (Sample("bkg", bkg, (Modifier("bnorm", "normal", sigma),)),),
        (Signal("sig", np.array([[[0.0, 0.0, 0.0]], [[0.6, 0.3, 0.1]]])),),
        np.array([1.0]),
    )


def main() -> None:
    fc = LimitSettings(method="feldman_cousins", profile=False)
    print("1. Feldman-Cousins, one bin, known background: exact vs asymptotic (90 % CL)")
    print("    n      b   exact [lo, up]        asymptotic [lo, up]    up ratio")
    cases = [(n, 3.0) for n in range(11)] + [(30, 25.0), (100, 100.0), (150, 100.0), (1000, 1000.0)]
    for n, b in cases:
        lo, up = feldman_cousins_interval(n, b)
        out = asymptotic_limits(signal_dataset(n, b), fc, expected=False)
        a_lo, a_up = out["coupling_lower"][0], out["coupling_limit"][0]
        print(f"  {n:4d} {b:6.1f}   [{lo:6.2f}, {up:7.2f}]     [{a_lo:6.2f}, {a_up:7.2f}]      {a_up / up:.3f}")

    print("\n2. asymptotic FC p-values vs a toy-MC Neyman construction (3 bins, 10 % normalisation nuisance)")
    for observed in ([44, 28, 33], [30, 24, 26], [60, 30, 28]):
        data = three_bins(observed)
        out = asymptotic_limits(data, LimitSettings(method="feldman_cousins"), expected=False)
        asimov = Statistic(data.with_observed(data.expected_sm()), "background_only")
        lo, up = out["coupling_lower"][0], out["coupling_limit"][0]
        print(f"  observed {observed}: interval in signal events [{lo**2:.2f}, {up**2:.2f}]")
        for name, end in (("upper", up), ("lower", lo)):
            if end <= 0:
                continue
            for f in (0.9, 1.0, 1.1):
                g = end * f
                t_obs, p_toy, _ = toy_pvalue(data, g, n_toys=4000, seed=3)
                p = float(np.exp(log_pvalue(t_obs, asimov(np.array([g]), np.array([0]))[0])))
                err = np.sqrt(p * (1 - p) / 4000)
                print(f"    {name} end x {f:.1f}: p asymptotic {p:.4f}, toys {p_toy:.4f} +- {err:.4f}")

    print("\n3. toy CL_s vs exact / asymptotic CL_s (90 % CL)")
    exact = exact_cls_upper(1, 2.16)
    for n in (2000, 20000):
        o = coupling_limits(
            signal_dataset(1, 2.16),
            LimitSettings(method="cls", cls_mode="toys", profile=False, toys={"n": n, "seed": 1}),
            expected=False,
        )
        print(
            f"  1 on 2.16, {n:5d} toys: {o['coupling_limit'][0]:.3f} +- {o['coupling_limit_mc_error'][0]:.3f}"
            f" events (exact {exact:.3f})"
        )
    for observed in ([4000, 3000, 3000], [3950, 3040, 2980], [4090, 2990, 3010]):
        data = three_bins(observed, bkg=(4000.0, 3000.0, 3000.0), sigma=0.02)
        a = coupling_limits(data, LimitSettings(method="cls", cls_mode="asymptotic"), expected=False)
        for seed in (1, 2):
            o = coupling_limits(
                data, LimitSettings(method="cls", cls_mode="toys", toys={"n": 2000, "seed": seed}), expected=False
            )
            ratio = o["coupling_limit"][0] / a["coupling_limit"][0]
            err = o["coupling_limit_mc_error"][0] / a["coupling_limit"][0]
            print(
                f"  {observed} (2 % nuisance), 2000 toys, seed {seed}: G toys / asymptotic = {ratio:.4f} +- {err:.4f}"
            )


if __name__ == "__main__":
    main()
