"""One chunk of mediator masses for one (model, experiment) pair (rule ``scan_limits_chunk``):
the closed-form coupling limit at each mass and the Delta chi^2 map over the coupling grid."""

import logging
import time

import numpy as np
import pandas as pd

from nufog import io
from nufog.analysis import Setup, mass_chunk
from nufog.inputs import checksums
from nufog.limits import chi2_map, limit_curve
from nufog.scripting import run

log = logging.getLogger(__name__)


def limit_metadata(model: str, summary, signal, config) -> dict:
    limits = config["limits"]
    return {
        "model": model,
        "experiment": summary.experiment.name,
        "experiment_label": summary.experiment.label,
        "model_label": signal.model.label,
        "coupling_label": signal.model.coupling_label,
        "cl": limits["cl"],
        "reference": limits["reference"],
        "n_lim": summary.n_lim,
        "n_obs": summary.n_obs,
        "background": summary.background,
        "background_sigma": summary.background_sigma,
        "sm_cevns_events": summary.sm_cevns_events,
        "coupling_sign": signal.coupling_sign,
        "efficiency_scale": summary.experiment.efficiency.scale,
    }


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = params["analysis"]
    wc = params["wildcards"]
    model, experiment = wc["model"], wc["experiment"]
    start = time.perf_counter()
    setup = Setup(inputs, config)
    summary = setup.experiment(experiment)
    signal = setup.signal(model, summary)
    masses = mass_chunk(config["limits"]["m_med_MeV"], wc["scatteritem"])
    log.info(
        "%s x %s: %d masses %.3g-%.3g MeV, N_lim = %.3f (n = %g, b = %g)",
        model,
        experiment,
        masses.size,
        masses[0],
        masses[-1],
        summary.n_lim,
        summary.n_obs,
        summary.background,
    )
    curve = limit_curve(signal, masses, summary.n_lim)
    lo, hi = config["models"][model]["coupling_range"]
    couplings = np.geomspace(lo, hi, config["limits"]["n_couplings"])
    grid = chi2_map(
        signal,
        masses,
        couplings,
        summary.n_obs,
        summary.background,
        config["limits"]["reference"],
        summary.background_sigma,
    )
    meta = limit_metadata(model, summary, signal, config)
    prov = io.provenance(config, checksums(inputs))
    io.write_table(
        pd.DataFrame(curve),
        outputs["curve"],
        {"m_med_MeV": "MeV", "coupling_limit": "1", "a_events": "events", "b_events": "events"},
        prov,
        meta,
    )
    m_col, g_col = np.meshgrid(masses, couplings, indexing="ij")
    io.write_table(
        pd.DataFrame(
            {
                "m_med_MeV": m_col.ravel(),
                "coupling": g_col.ravel(),
                "n_bsm_events": grid["n_bsm"].ravel(),
                "delta_chi2": grid["delta_chi2"].ravel(),
            }
        ),
        outputs["map"],
        {"m_med_MeV": "MeV", "coupling": "1", "n_bsm_events": "events", "delta_chi2": "1"},
        prov,
        meta,
    )
    log.info("done in %.2f s", time.perf_counter() - start)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
