"""CEvNS spectra in xenon for the SM and Table 1's benchmark points (rule ``benchmark_spectra``):
``results/{run}/rates/xenon_cevns_benchmarks.parquet``, dR/dE_nr in events / (t yr keV) on the folding grid
``limits.e_nr_keV``, one column per benchmark (SM plus new physics), for Fig. 2."""

import logging

import numpy as np

from nufog import io
from nufog.analysis import Setup, signed_model
from nufog.inputs import checksums
from nufog.mediators import cevns_rate_terms
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = {k: params[k] for k in ("solar", "xenon", "hadronic", "models")}
    config["limits"] = {"e_nr_keV": params["e_nr_keV"]}
    setup = Setup(inputs, config)
    columns = {"e_nr_keV": setup.e_nr_keV, "sm": setup.sm_rate_nr}
    benchmarks = {}
    for key, bench in params["benchmarks"].items():
        model, sign = signed_model(bench["model"], config)
        if model.target != "nucleus":
            log.info("benchmark %s (%s) couples to electrons: not a CEvNS spectrum, skipped", key, bench["model"])
            continue
        lin, quad = cevns_rate_terms(model, setup.recoil_kernel, np.array([bench["m_med_MeV"]]))
        g = sign * bench["coupling"]
        columns[key] = setup.sm_rate_nr + lin[0] * g + quad[0] * g**2
        benchmarks[key] = {
            **bench,
            "coupling_sign": sign,
            "interferes": bool(model.interferes),
            "label": model.label,
            "coupling_label": model.coupling_label,
        }
        log.info("%s: %s at %g MeV, |G| = %g", key, bench["model"], bench["m_med_MeV"], bench["coupling"])
    units = {"e_nr_keV": "keV", **{c: "1/(t yr keV)" for c in columns if c != "e_nr_keV"}}
    prov = io.provenance({**config, "benchmarks": params["benchmarks"]}, checksums(inputs))
    io.write_table(columns, outputs["0"], units, prov, {"benchmarks": benchmarks, "target": "Xe"})


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
