"""Paper Fig. 1 (rule ``plot_fig1``): SM rates in xenon per t yr keV_ee, CEvNS converted with the
configured quenching, and the analysis regions (ROIs) of the data sets below."""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog import io
from nufog.plotting import EXPERIMENT_COLOURS, PROCESS_LABELS, mask_threshold, plot_rates, save_and_close, style
from nufog.quenching import from_config
from nufog.scripting import run

log = logging.getLogger(__name__)


def plot_rois(ax, rois: dict, quench, xlim) -> None:
    """One horizontal bar per data set: its ROI (keV_nr in the config) in keV_ee, labelled."""
    for i, (name, roi) in enumerate(rois.items()):
        lo, hi = quench.to_ee(np.asarray(roi["roi_keV"], dtype=float))
        color = EXPERIMENT_COLOURS.get(name, f"C{i}")
        ax.plot([lo, hi], [i, i], color=color, lw=3.0, solid_capstyle="butt")
        # the label goes right of the bar (left of it if the bar reaches the right edge)
        right = hi * 1.15 < xlim[1] / 3
        x = hi * 1.15 if right else max(lo, xlim[0]) / 1.15
        ax.text(x, i, roi["label"], color=color, fontsize=5.5, va="center", ha="left" if right else "right")
    ax.set_ylim(len(rois) - 0.4, -0.6)
    ax.set_yticks([])
    ax.set_ylabel("ROI", fontsize=6)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    quench = from_config(params["quenching"])
    fig_cfg = params["fig"]
    xlim = fig_cfg["e_ee_keV"]
    curves = {}
    for process in ("cevns", "migdal", "electron"):
        cols, _ = io.read_columns(inputs[process])
        if process == "cevns":
            e_ee = np.geomspace(*xlim, 600)
            rate = quench.spectrum_to_ee(e_ee, cols["e_nr_keV"], cols["rate_total"])
            curves[PROCESS_LABELS[process]] = (e_ee, rate)
        else:
            e_ee = cols["e_ee_keV"]
            rate = cols["rate_total"]
            if process == "migdal":  # no vertical segment at the ionisation threshold
                rate = mask_threshold(e_ee, rate)
            curves[PROCESS_LABELS[process]] = (e_ee, rate)
    rois = params.get("rois", {})
    with style():
        fig, (ax, ax_roi) = plt.subplots(
            2,
            1,
            sharex=True,
            figsize=(3.4, 3.1),
            gridspec_kw={"height_ratios": [4.2, 0.35 + 0.25 * len(rois)], "hspace": 0.05},
            squeeze=True,
        )
        plot_rates(ax, curves)
        ax.set_xlim(*xlim)
        ax.set_ylim(*fig_cfg["rate_per_t_yr_keV"])
        ax.set_ylabel(r"$\mathrm{d}R/\mathrm{d}E_\mathrm{det}$ [t$^{-1}$ yr$^{-1}$ keV$_\mathrm{ee}^{-1}$]")
        q = f"$q_\\mathrm{{nr}}$ = {quench.q_nr:g}" if quench.model == "constant" else f"Lindhard $k$ = {quench.k:g}"
        ax.legend(loc="upper right", title=f"solar $\\nu$ in natural Xe\nNR quenching: {q}", title_fontsize=6)
        ax.tick_params(labelbottom=False)
        if rois:
            plot_rois(ax_roi, rois, quench, xlim)
        else:
            ax_roi.set_visible(False)
        ax_roi.set_xlabel(r"$E_\mathrm{det}$ [keV$_\mathrm{ee}$]")
        save_and_close(fig, outputs["pdf"], outputs["png"])
    log.info("wrote %s", outputs["pdf"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
