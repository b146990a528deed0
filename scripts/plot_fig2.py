"""Paper Fig. 2 (rule ``plot_fig2``): differential CEvNS rate in xenon for the SM and the scalar
and vector benchmarks (``results/{run}/rates/xenon_cevns_benchmarks.parquet``), with the experiments'
efficiencies (from their fold files)."""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog import io
from nufog.plotting import EXPERIMENT_COLOURS, plot_efficiency, plot_rates, save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def latex_sci(x: float) -> str:
    """A number in LaTeX scientific notation (3 significant digits)."""
    mantissa, exponent = f"{x:.3g}".split("e") if "e" in f"{x:.3g}" else (f"{x:.3g}", "0")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


def main(inputs: dict, outputs: dict, params: dict) -> None:
    spectra, meta = io.read_columns(inputs["spectra"])
    e = spectra["e_nr_keV"]
    curves = {"SM": (e, spectra["sm"])}
    for key, bench in meta["benchmarks"].items():
        g = bench["coupling_sign"] * bench["coupling"]
        label = f"SM + {key}, $m$ = {bench['m_med_MeV']:g} MeV\n{bench['coupling_label']} = {latex_sci(abs(g))}"
        if bench["interferes"]:
            label += " (constructive)" if bench["coupling_sign"] < 0 else " (destructive)"
        curves[label] = (e, spectra[key])
    # the measured counting data sets (projections have no efficiency of their own to show)
    efficiencies = []
    for name, path in inputs.items():
        if not name.startswith("fold_"):
            continue
        fold_meta = io.read_metadata(path)
        data_meta = fold_meta["data_meta"]
        if data_meta["summary"]["is_projection"]:
            continue
        curve = data_meta["efficiency_nr"]
        e_eff = np.asarray(curve["e_keV"])
        eff = np.where(e_eff <= curve["roi_keV"][1], np.asarray(curve["efficiency"]), np.nan)  # no drop at the ROI edge
        efficiencies.append((name[len("fold_") :], fold_meta["label"], e_eff, eff))
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
        for name, label, e_eff, eff in efficiencies:
            plot_efficiency(twin, e_eff, eff, label, EXPERIMENT_COLOURS.get(name, "C0"), alpha=0.9)
        twin.set_ylim(0, params["fig"]["efficiency_max"])
        twin.set_ylabel("efficiency (NR)", color="0.25")
        # clear of every curve: the rates between the spectra and the efficiency plateaus (left),
        # the efficiencies above the plateaus where the spectra have fallen (right)
        ax.legend(loc="center left", bbox_to_anchor=(0.0, 0.5), fontsize=5.2)
        twin.legend(loc="upper right", fontsize=5.2, title="efficiency", title_fontsize=5.2)
        save_and_close(fig, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
