"""Paper Fig. 2 (rule ``plot_fig2``): differential CEvNS rate in xenon for the SM and the scalar
and vector benchmarks, with the experiments' efficiencies."""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog.analysis import Setup
from nufog.plotting import EXPERIMENT_COLOURS, plot_efficiency, plot_rates, save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def latex_sci(x: float) -> str:
    """A number in LaTeX scientific notation (3 significant digits)."""
    mantissa, exponent = f"{x:.3g}".split("e") if "e" in f"{x:.3g}" else (f"{x:.3g}", "0")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = params["analysis"]
    setup = Setup(inputs, config)
    e = setup.e_nr_keV
    curves = {"SM": (e, setup.sm_rate_nr)}
    # the paper's counting data sets (the releases have binned responses, not an efficiency curve)
    counting = [n for n, c in config["experiments"].items() if c.get("kind", "counting") == "counting"]
    any_summary = setup.experiment(counting[0])
    for key, bench in config["benchmarks"].items():
        signal = setup.signal(bench["model"], any_summary)
        if signal.model.target != "nucleus":
            continue
        lin, quad = signal.terms(np.array([bench["m_med_MeV"]]))
        g = signal.coupling_sign * bench["coupling"]
        total = setup.sm_rate_nr + lin[0] * g + quad[0] * g**2
        label = f"SM + {key}, $m$ = {bench['m_med_MeV']:g} MeV\n{signal.model.coupling_label} = {latex_sci(abs(g))}"
        if signal.model.interferes:
            label += " (constructive)" if signal.coupling_sign < 0 else " (destructive)"
        curves[label] = (e, total)
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
        for name in counting:
            s = setup.experiment(name)
            if s.experiment.is_projection:
                continue
            eff = s.experiment.efficiency_nr(e)
            eff = np.where(e <= s.experiment.efficiency.roi_keV[1], eff, np.nan)  # no drop at the ROI edge
            plot_efficiency(twin, e, eff, s.experiment.label, EXPERIMENT_COLOURS.get(name, "C0"), alpha=0.9)
        twin.set_ylim(0, params["fig"]["efficiency_max"])
        twin.set_ylabel("efficiency (NR)", color="0.25")
        # clear of every curve: the rates between the spectra and the efficiency plateaus (left),
        # the efficiencies above the plateaus where the spectra have fallen (right)
        ax.legend(loc="center left", bbox_to_anchor=(0.0, 0.5), fontsize=5.2)
        twin.legend(loc="upper right", fontsize=5.2, title="efficiency", title_fontsize=5.2)
        save_and_close(fig, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
