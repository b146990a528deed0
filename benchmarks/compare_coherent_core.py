"""COHERENT CsI on the shared likelihood core against the exact CsIModel inference (issue 9, section 1).

Prints, for the three CEvNS models on the config's 200 masses, the core's Wilks limits (reference
background_only) against :func:`nufog.coherent_inference.mediator_limit`, the expected median at 1 MeV,
and the SM fit (profiled -2 ln L and nuisances) of both; writes a CSV with ``--out``.

    python benchmarks/compare_coherent_core.py [--delta 0.03] [--n-mass 200] [--out comparison.csv]
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nufog.coherent import CsIModel, fit, load_release, mediator_limit
from nufog.coherent_dataset import NUISANCE_NAMES, OFFSET_DELTA_US, csi_dataset, csi_parts
from nufog.inference import LimitSettings, coupling_limits
from nufog.likelihood import Model
from nufog.mediators import get_model

MODELS = {"universal_scalar": 1, "higgs_scalar": 1, "universal_vector": -1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delta", type=float, default=OFFSET_DELTA_US)
    ap.add_argument("--n-mass", type=int, default=200)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    release = Path(os.environ.get("NUFOG_DATA_MIRROR", "../shared/data")) / "coherent_csi2021"
    model = CsIModel.build(load_release(release))
    masses = np.geomspace(0.01, 1e4, args.n_mass)
    parts = csi_parts(model, {n: (get_model(n), s) for n, s in MODELS.items()}, masses, offset_delta_us=args.delta)
    best = fit(model)
    core = Model(csi_dataset(parts))
    sm = core.profile(np.zeros(1), np.zeros(1, dtype=int))
    theta = dict(zip(core.names, sm.theta[0]))
    print(f"offset templates: centre {parts.offset_centre_us:.5f} us, delta {args.delta} us")
    print(f"SM fit -2lnL: exact {best.chi2:.5f}  core {sm.nll2[0]:.5f}  diff {sm.nll2[0] - best.chi2:+.5f}")
    sig = {m.nuisance: m.sigma for s in parts.samples for m in s.modifiers if m.kind == "normal"}
    for k, name in enumerate(NUISANCE_NAMES):
        t = theta[name]
        value = (
            t * sig[name] if name in sig else t if name == "coherent_eff" else parts.offset_centre_us + args.delta * t
        )
        print(f"  {name:18s} exact {best.x[k]:+.5f}  core {value:+.5f}")
    rows = []
    for name, sign in MODELS.items():
        t0 = time.perf_counter()
        exact = mediator_limit(name, masses, 0.9, model, sign=sign)
        t1 = time.perf_counter()
        out = coupling_limits(csi_dataset(parts, name), LimitSettings())
        t2 = time.perf_counter()
        rel = out["coupling_limit"] / exact.coupling_limit - 1.0
        at = [int(np.argmin(np.abs(masses - m))) for m in (1.0, 10.0, 100.0)]
        print(
            f"{name}: exact {t1 - t0:.1f} s, core {t2 - t1:.1f} s; max |rel diff| {np.nanmax(np.abs(rel)):.2e} "
            f"(at {masses[np.nanargmax(np.abs(rel))]:.3g} MeV); "
            f"fit_ok exact {exact.fit_ok.sum()}, core {out['fit_ok'].sum()}"
        )
        for i in at:
            print(
                f"   m {masses[i]:8.3g} MeV: exact {exact.coupling_limit[i]:.5e} core {out['coupling_limit'][i]:.5e}"
                f" ({rel[i]:+.2e}); expected median {out['expected_median'][i]:.4e}"
                f" [-1s {out['expected_minus1'][i]:.3e}, +1s {out['expected_plus1'][i]:.3e}]"
            )
        rows.append(
            pd.DataFrame(
                {"model": name, "m_med_MeV": masses, "exact": exact.coupling_limit, "exact_ok": exact.fit_ok}
                | {k: out[k] for k in out if k != "m_med_MeV"}
            )
        )
    if args.out:
        pd.concat(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
