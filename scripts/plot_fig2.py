"""Paper Fig. 2 (rule ``plot_fig2``): differential CEvNS rate in xenon for the SM and the scalar
and vector benchmarks, with the experiments' efficiencies."""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog.analysis import Setup
from nufog.plotting import EXPERIMENT_COLOURS, plot_efficiency, plot_rates, save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = params["analysis"]
    setup = Setup(inputs, config)
    e = setup.e_nr_keV
    curves = {"SM": (e, setup.sm_rate_nr)}
    counting = [n for n, c in config["experiments"].items() if c.get("kind", "counting") == "counting"]
    any_summary = setup.experiment(counting[0])
    for key, bench in config["benchmarks"].items():
        signal = setup.signal(bench["model"], any_summary)
        if signal.model.target != "nucleus":
            continue
        lin, quad = signal.terms(np.array([bench["m_med_MeV"]]))
        g = signal.coupling_sign * bench["coupling"]
        total = setup.sm_rate_nr + lin[0] * g + quad[0] * g**2
        curves[f"SM + {key} ($m$ = {bench['m_med_MeV']:g} MeV)"] = (e, total)
    with style():
        fig, ax = plt.subplots()
        lines = plot_rates(ax, curves)
        for line, ls in zip(lines, ["-", "--", ":"]):
            line.set_color("k")
            line.set_linestyle(ls)
        ax.set_xlim(*params["fig"]["e_nr_keV"])
        ax.set_ylim(*params["fig"]["rate_per_t_yr_keV"])
        ax.set_xlabel(r"$E_R$ [keV$_\mathrm{nr}$]")
        ax.set_ylabel(r"$\mathrm{d}R/\mathrm{d}E_R$ [t$^{-1}$ yr$^{-1}$ keV$^{-1}$]")
        twin = ax.twinx()
        twin.set_yscale("linear")
        for name in counting:  # the releases have binned responses, not an efficiency curve
            s = setup.experiment(name)
            if s.experiment.is_projection:
                continue
            eff = s.experiment.efficiency_nr(e)
            eff = np.where(e <= s.experiment.efficiency.roi_keV[1], eff, np.nan)  # no drop at the ROI edge
            plot_efficiency(twin, e, eff, s.experiment.label, EXPERIMENT_COLOURS.get(name, "C0"), alpha=0.9)
        twin.set_ylim(0, params["fig"]["efficiency_max"])
        twin.set_ylabel("efficiency", color="#0C5DA5")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="lower left", fontsize=5.5)
        save_and_close(fig, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
