"""COHERENT CsI light-mediator limits of every model of ``coherent.models`` from the exact CsIModel, one file
per model (rule ``coherent_limits``; one job: the CsIModel is built once and the start-up paid once)."""

import logging
import time

from nufog import io
from nufog.analysis import build_model
from nufog.coherent import mediator_limit, model_from_config
from nufog.config import log_grid
from nufog.inputs import checksums
from nufog.limits import coupling_sign
from nufog.progress import Progress
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    masses = log_grid(params["masses"])
    csi = model_from_config(params["coherent"], params["data_dir"])
    progress = Progress(len(params["models"]), log, what="models")
    for name, model_cfg in params["models"].items():
        model = build_model(name, {"models": {name: model_cfg}, "hadronic": params["hadronic"]})
        sign = int(coupling_sign(model, model_cfg.get("interference", "constructive")))
        start = time.perf_counter()
        res = mediator_limit(model, masses, params["cl"], csi, sign=sign, progress_log=log)
        log.info(
            "%s: %d masses in %.1f s (%d flagged fit_ok = False); limit at %.3g MeV: %.3g",
            name,
            masses.size,
            time.perf_counter() - start,
            int((~res.fit_ok).sum()),
            masses[0],
            res.coupling_limit[0],
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
            "n_obs": float(csi.observed.sum()),
            "background": float("nan"),
        }
        prov = io.provenance(
            {"coherent": params["coherent"], "masses": params["masses"], "cl": params["cl"], "model": model_cfg},
            checksums(inputs),
        )
        io.write_table(
            {"m_med_MeV": masses, "coupling_limit": res.coupling_limit, "fit_ok": res.fit_ok},
            outputs[name],
            {"m_med_MeV": "MeV", "coupling_limit": "1", "fit_ok": ""},
            prov,
            meta,
        )
        progress.step()


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
