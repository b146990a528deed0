"""Coupling-product limits of every model on one data set or combination (rules ``limits_*``):
``results/{run}/limits/{model}_{name}.parquet`` with the observed limit, ``fit_ok`` and the expected median
and +-1, +-2 sigma bands (:func:`nufog.inference.coupling_limits`). Reads fold files only."""

import logging
import os
import time

from nufog import io
from nufog.fold import dataset_from_fold, read_fold
from nufog.inference import BANDS, LimitSettings, coupling_limits
from nufog.inputs import checksums
from nufog.likelihood import combine
from nufog.progress import Progress
from nufog.scripting import run

log = logging.getLogger(__name__)

UNITS = {"m_med_MeV": "MeV", "coupling_limit": "1", "fit_ok": "", **{c: "1" for c in BANDS}}
#: written when the method gives them: the lower end of a Feldman-Cousins interval, the toys' MC error
EXTRA_UNITS = {"coupling_lower": "1", "coupling_limit_mc_error": "1"}


def _citation(data_meta: dict) -> str:
    """A data set's reference, with the licence of a public release."""
    licence = data_meta.get("licence")
    return f"{data_meta['reference']} ({licence})" if licence else data_meta["reference"]


#: fold files larger than this on disk in all [bytes] are read one model at a time: a big scan's XENONnT 2026
#: fold (0.77 GB, 146 million rows) read whole took the limit job to 15 GB
READ_PER_MODEL_BYTES = 200e6


def main(inputs: dict, outputs: dict, params: dict) -> None:
    per_model = sum(os.path.getsize(p) for p in inputs.values()) > READ_PER_MODEL_BYTES
    folds = None if per_model else [read_fold(p) for p in inputs.values()]
    settings = LimitSettings(**params["limits"])
    name, label = params["name"], params["label"]
    progress = Progress(len(params["models"]), log, what="models")
    for model in params["models"]:
        start = time.perf_counter()
        if per_model:
            folds = [read_fold(p, models=[model]) for p in inputs.values()]
        parts = [dataset_from_fold(table, meta, model) for table, meta in folds]
        data = parts[0] if len(parts) == 1 else combine(parts, name)
        out = coupling_limits(data, settings)
        if not out["fit_ok"].all():
            bad = out["m_med_MeV"][~out["fit_ok"]]
            log.warning("%s x %s: %d masses flagged fit_ok = False (e.g. %.3g MeV)", model, name, bad.size, bad[0])
        info = folds[0][1]["models"][model]
        meta = {
            "model": model,
            "experiment": name,
            "experiment_label": label,
            "datasets": [m["dataset"] for _, m in folds],
            "projection": all(m["data_meta"].get("summary", {}).get("is_projection", False) for _, m in folds),
            # where each data set comes from: a public release (with its licence) or a count set's reference
            "references": {m["dataset"]: _citation(m["data_meta"]) for _, m in folds if "reference" in m["data_meta"]},
            "model_label": info["label"],
            "coupling_label": info["coupling_label"],
            "coupling_sign": info["coupling_sign"],
            "nuisances": list(data.nuisances) if settings.profile else [],
            **{k: getattr(settings, k) for k in ("cl", "method", "reference", "cls_mode", "profile")},
        }
        if "toys" in params["limits"]:
            meta["toys"] = settings.toys
        prov = io.provenance({"limits": params["limits"], "name": name, "model": model}, checksums(inputs))
        units = {**UNITS, **{k: u for k, u in EXTRA_UNITS.items() if k in out}}
        io.write_table({k: out[k] for k in units}, outputs[f"{model}"], units, prov, meta)
        log.info(
            "%s x %s: %d masses in %.2f s; limit %.3g at %.3g MeV (expected %.3g)",
            model,
            name,
            out["m_med_MeV"].size,
            time.perf_counter() - start,
            out["coupling_limit"][0],
            out["m_med_MeV"][0],
            out["expected_median"][0],
        )
        progress.step()


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
