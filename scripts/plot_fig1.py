"""Paper Fig. 1 (rule ``plot_fig1``): SM rates in xenon per t yr keV_ee, CEvNS converted with the
configured quenching."""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog import io
from nufog.plotting import PROCESS_LABELS, plot_rates, save_and_close, style
from nufog.quenching import from_config
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    quench = from_config(params["quenching"])
    fig_cfg = params["fig"]
    curves = {}
    for process in ("cevns", "migdal", "electron"):
        df, meta = io.read_table(inputs[process])
        if process == "cevns":
            e_ee = np.geomspace(*fig_cfg["e_ee_keV"], 600)
            rate = quench.spectrum_to_ee(e_ee, df["e_nr_keV"].to_numpy(), df["rate_total"].to_numpy())
            curves[PROCESS_LABELS[process]] = (e_ee, rate)
        else:
            curves[PROCESS_LABELS[process]] = (df["e_ee_keV"].to_numpy(), df["rate_total"].to_numpy())
    with style():
        fig, ax = plt.subplots()
        plot_rates(ax, curves)
        ax.set_xlim(*fig_cfg["e_ee_keV"])
        ax.set_ylim(*fig_cfg["rate_per_t_yr_keV"])
        ax.set_xlabel(r"$E_\mathrm{det}$ [keV$_\mathrm{ee}$]")
        ax.set_ylabel(r"$\mathrm{d}R/\mathrm{d}E_\mathrm{det}$ [t$^{-1}$ yr$^{-1}$ keV$_\mathrm{ee}^{-1}$]")
        q = quench.q_nr if quench.model == "constant" else f"Lindhard k={quench.k}"
        ax.set_title(f"Solar neutrinos in natural Xe (NR quenching: {q})", fontsize=7)
        ax.legend(loc="upper right")
        save_and_close(fig, outputs["pdf"], outputs["png"])
    log.info("wrote %s", outputs["pdf"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
