"""COHERENT CsI one-dimensional NSI profiles (rule ``coherent_nsi_intervals``) on the shared likelihood
core (:mod:`nufog.coherent_nsi`).

eps_ee^uV with eps_ee^dV = 0, and the reverse, nuisances profiled at every point, over the ranges of
``coherent.nsi`` with 4 n + 1 points. Writes the profiles (Parquet) and the intervals where
Delta chi^2 < chi2.ppf(cl, 1) (2.706 at 90 % CL; two disjoint intervals per axis are possible) to CSV:
parameter, lower, upper, cl, lower_at_scan_edge, upper_at_scan_edge, fit_ok (every fit inside the
interval and at the two grid points that bracket it converged; far from both bands the fits need pulls
beyond the core's 5 sigma bounds and are flagged in the profiles).
"""

import logging

import numpy as np
import pandas as pd

from nufog import io
from nufog.coherent import CsICore, model_from_config, nsi_profile, profile_intervals
from nufog.inputs import checksums
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    cfg = params["coherent"]
    core = CsICore.build(model_from_config(cfg, params["data_dir"]))
    rows, profiles = [], []
    for name in ("eps_u", "eps_d"):
        g = cfg["nsi"][name]
        prof = nsi_profile(core, name, np.linspace(g["min"], g["max"], 4 * g["n"] + 1), progress_log=log)
        step = float(np.diff(prof["grid"]).max())
        for lower, upper, lo_edge, hi_edge in profile_intervals(prof, core, params["cl"]):
            # the fits that decide the interval: every grid point inside it and the two bracketing ones
            near = (prof["grid"] >= lower - step) & (prof["grid"] <= upper + step)
            ok = bool(prof["fit_ok"][near].all())
            rows.append((name, lower, upper, params["cl"], lo_edge, hi_edge, ok))
            log.info("%s: [%.4f, %.4f] at %g CL (1 dof)", name, lower, upper, params["cl"])
        profiles.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "value": prof["grid"],
                    "delta_chi2": prof["chi2"] - prof["chi2_min"],
                    "fit_ok": prof["fit_ok"],
                }
            )
        )
    cols = ["parameter", "lower", "upper", "cl", "lower_at_scan_edge", "upper_at_scan_edge", "fit_ok"]
    with io.atomic_path(outputs["intervals"]) as tmp:
        pd.DataFrame(rows, columns=cols).to_csv(tmp, index=False, float_format="%.6g")
    io.write_table(
        pd.concat(profiles, ignore_index=True),
        outputs["profiles"],
        {"parameter": "", "value": "1", "delta_chi2": "1", "fit_ok": ""},
        io.provenance({"coherent": cfg, "cl": params["cl"]}, checksums(inputs)),
        {"experiment": "coherent_csi", "flavours": ["nu_e"], "fixed": "the other eps at 0"},
    )


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
