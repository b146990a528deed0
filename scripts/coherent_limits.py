"""COHERENT CsI light-mediator limit for one model (rule ``coherent_limits``)."""

import logging
import time

import numpy as np
import pandas as pd

from nufog import io
from nufog.analysis import build_model
from nufog.coherent import analysis_from_config, mediator_limit
from nufog.config import log_grid
from nufog.inputs import checksums
from nufog.limits import coupling_sign
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    name = params["wildcards"]["model"]
    model_cfg = params["model"]
    model = build_model(name, {"models": {name: model_cfg}, "hadronic": params["hadronic"]})
    sign = int(coupling_sign(model, model_cfg.get("interference", "constructive")))
    masses = log_grid(params["masses"])
    start = time.perf_counter()
    analysis = analysis_from_config(params["coherent"], params["data_dir"])
    limits = mediator_limit(model, masses, params["cl"], analysis, sign=sign)
    log.info(
        "%s: %d masses in %.1f s; limit at %.3g MeV: %.3g",
        name,
        masses.size,
        time.perf_counter() - start,
        masses[0],
        limits[0],
    )
    meta = {
        "model": name,
        "experiment": "coherent_csi",
        "experiment_label": params["coherent"]["label"],
        "model_label": model.label,
        "coupling_label": model.coupling_label,
        "cl": params["cl"],
        "reference": "sm_profiled",
        "coupling_sign": sign,
        "n_obs": float(analysis.observed.sum()),
        "background": float("nan"),
    }
    prov = io.provenance(
        {"coherent": params["coherent"], "masses": params["masses"], "cl": params["cl"], "model": model_cfg},
        checksums(inputs),
    )
    io.write_table(
        pd.DataFrame({"m_med_MeV": masses, "coupling_limit": np.asarray(limits)}),
        outputs["0"],
        {"m_med_MeV": "MeV", "coupling_limit": "1"},
        prov,
        meta,
    )


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
