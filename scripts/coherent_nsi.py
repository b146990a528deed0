"""COHERENT CsI NSI scan on the shared likelihood core (rule ``coherent_nsi``): Delta chi^2 over
(eps_ee^uV, eps_ee^dV) (:func:`nufog.coherent_fits.nsi_scan`)."""

import logging
import time

import numpy as np

from nufog import io
from nufog.coherent import CsICore, model_from_config, nsi_scan
from nufog.inputs import checksums
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    cfg = params["coherent"]
    grid = {k: np.linspace(v["min"], v["max"], v["n"]) for k, v in cfg["nsi"].items()}
    start = time.perf_counter()
    model = model_from_config(cfg, params["data_dir"])
    scan = nsi_scan(grid["eps_u"], grid["eps_d"], CsICore.build(model), progress_log=log)
    log.info(
        "NSI map %d x %d in %.1f s (%d fits flagged); grid minimum %s, Delta chi^2(SM) = %.3f",
        grid["eps_u"].size,
        grid["eps_d"].size,
        time.perf_counter() - start,
        int((~scan["fit_ok"]).sum()),
        scan["best"],
        scan["delta_chi2_sm"],
    )
    eu, ed = np.meshgrid(scan["eps_u"], scan["eps_d"], indexing="ij")
    df = {
        "eps_u": eu.ravel(),
        "eps_d": ed.ravel(),
        "chi2": scan["chi2"].ravel(),
        "delta_chi2": scan["delta_chi2"].ravel(),
        "fit_ok": scan["fit_ok"].ravel(),
    }
    meta = {
        # the minimum lies on a nearly flat valley (physics.md 5): a poorly defined point, not drawn
        "best_fit": list(scan["best"]),
        "chi2_min": scan["chi2_min"],
        "delta_chi2_sm": scan["delta_chi2_sm"],
        "flavours": ["nu_e"],
        "experiment": "coherent_csi",
    }
    io.write_table(
        df,
        outputs["0"],
        {"eps_u": "1", "eps_d": "1", "chi2": "1", "delta_chi2": "1", "fit_ok": ""},
        io.provenance(cfg, checksums(inputs)),
        meta,
    )


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
