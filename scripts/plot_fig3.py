"""Paper Fig. 3 (rule ``plot_fig3``): 90 % CL limits on the coupling product versus mediator mass,
one panel per model, one curve per experiment (filled excluded regions; projections dashed)."""

import logging
import math

import matplotlib.pyplot as plt

from nufog import io
from nufog.plotting import EXPERIMENT_COLOURS, plot_exclusion, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    tables = [io.read_table(p) for p in inputs["limits"]]
    models = list(dict.fromkeys(meta["model"] for _, meta in tables))
    ncols = 2 if len(models) > 1 else 1
    nrows = math.ceil(len(models) / ncols)
    fig_cfg = params["fig"]
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 2.9 * nrows), squeeze=False)
        for ax, model in zip(axes.flat, models):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(*fig_cfg["m_med_MeV"])
            ranges = [meta for _, meta in tables if meta["model"] == model]
            ylims = fig_cfg["coupling_ranges"].get(model)
            curves = [(df, meta) for df, meta in tables if meta["model"] == model]
            if ylims:
                ax.set_ylim(*ylims)
            else:
                lo = min(df["coupling_limit"].min() for df, _ in curves)
                ax.set_ylim(lo / 3, lo * 1e6)
            for df, meta in sorted(curves, key=lambda c: c[1]["experiment"] == "xlzd"):
                projection = meta["n_obs"] == meta["background"] and meta["experiment_label"].endswith("(projection)")
                plot_exclusion(
                    ax,
                    df["m_med_MeV"],
                    df["coupling_limit"],
                    meta["experiment_label"],
                    EXPERIMENT_COLOURS.get(meta["experiment"], "C0"),
                    projection=projection,
                )
            ax.set_title(ranges[0]["model_label"])
            ax.set_xlabel(r"$m$ [MeV]")
            ax.set_ylabel(ranges[0]["coupling_label"] + f" ({100 * ranges[0]['cl']:g} % CL)")
            ax.legend(loc="upper left", fontsize=5.5)
        for ax in axes.flat[len(models) :]:
            ax.set_visible(False)
        fig.tight_layout()
        io.save_figure(fig, outputs["pdf"])
        io.save_figure(fig, outputs["png"])
        plt.close(fig)


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
