"""COHERENT CsI SM fit on the shared likelihood core (rule ``coherent_sm_fit``): results/{run}/coherent/sm_fit.json
and the PE and time projections of data and fitted model (:func:`nufog.coherent_fits.sm_fit`)."""

import json
import logging
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.layout_engine import TightLayoutEngine

from nufog import io
from nufog.coherent import NUISANCES, CsICore, model_from_config, sm_fit, sm_pulls_fit
from nufog.inputs import checksums
from nufog.plotting import save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)

COMPONENTS = (
    ("cevns", r"CE$\nu$NS", "#0C5DA5"),
    ("ss", "steady state", "#9e9e9e"),
    ("brn", "BRN", "#FF9500"),
    ("nin", "NIN", "#845B97"),
)


def plot_projections(model, x, path_pdf, path_png):
    exp = model.expected(model.sm_spectra, x)
    data = model.observed
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7))
        for ax, axis, edges, label in (
            (axes[0], 1, model.pe_edges, "reconstructed energy [PE]"),
            (axes[1], 0, model.t_edges, r"time [$\mu$s]"),
        ):
            widths = np.diff(edges)
            bottom = np.zeros(widths.size)
            for key, name, colour in COMPONENTS[::-1]:
                counts = exp[key].sum(axis=axis) / widths
                ax.bar(edges[:-1], counts, widths, bottom=bottom, align="edge", color=colour, label=name, lw=0)
                bottom += counts
            centres = 0.5 * (edges[1:] + edges[:-1])
            d = data.sum(axis=axis)
            ax.errorbar(centres, d / widths, yerr=np.sqrt(d) / widths, fmt="o", ms=2.5, color="k", lw=0.8, label="data")
            ax.set_xlabel(label)
            ax.set_ylabel("events / " + ("PE" if axis == 1 else r"$\mu$s"))
            ax.set_xlim(edges[0], edges[-1])
        axes[0].legend(loc="upper right")
        fig.suptitle("COHERENT CsI 2021: data and best fit (SM, nuisances profiled)", fontsize=8)
        TightLayoutEngine().execute(fig)  # no layout engine left on the figure: one draw per file
        save_and_close(fig, path_pdf, path_png)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    start = time.perf_counter()
    model = model_from_config(params["coherent"], params["data_dir"])
    core = CsICore.build(model)
    result = sm_fit(core)
    log.info(
        "fitted CEvNS %.1f +%.1f -%.1f (SM %.1f), chi2/ndf = %.1f/%d in %.2f s",
        result["n_fit"],
        result["n_fit_err_high"],
        result["n_fit_err_low"],
        result["n_sm"],
        result["chi2"],
        result["ndf"],
        time.perf_counter() - start,
    )
    if not result["fit_ok"]:
        log.warning("SM fit flagged: %s", result["fit_message"])
    result.update(sm_pulls_fit(core))
    if not result["fit_ok_sm_fit"]:
        log.warning("SM fit with every pull flagged (fit_ok_sm_fit = False)")
    other = dict(params["coherent"], timing_efficiency=not params["coherent"]["timing_efficiency"])
    key = "n_sm_without_timing_efficiency" if params["coherent"]["timing_efficiency"] else "n_sm_with_timing_efficiency"
    result[key] = model_from_config(other, params["data_dir"]).sm_prediction()["total"]
    result["units"] = {"n_*": "events", "chi2": "1", "t_offset": "us", "alpha_*": "relative"}
    result["provenance"] = io.provenance(params["coherent"], checksums(inputs))
    with io.atomic_path(outputs["fit"]) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True, default=float) + "\n")
    x_sm = [result["nuisances_sm_fit"][k] for k in NUISANCES]
    plot_projections(model, x_sm, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
