"""Paper Fig. 3 (rule ``plot_fig3``): limits on the coupling product versus mediator mass, one panel
per model: the xenon experiments and COHERENT (lines; their union shaded), projections (dashed), the
BBN region (hatched) and published reference limits recast to the panel's coupling (dash-dotted)."""

import logging
import math

import matplotlib.pyplot as plt

from nufog import io
from nufog.plotting import EXPERIMENT_COLOURS, plot_band_below, plot_exclusion, plot_union_fill, save_and_close, style
from nufog.reference_limits import coupling_product, read_darkcast_limit
from nufog.scripting import run

log = logging.getLogger(__name__)


#: line styles of the reference limits (grey), in config order
REFERENCE_STYLES = ["-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (1, 1))]


def is_projection(meta: dict) -> bool:
    if "projection" in meta:
        return bool(meta["projection"])
    return meta.get("n_obs") == meta.get("background")


def panel(ax, model, curves, references, fig_cfg):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*fig_cfg["m_med_MeV"])
    ylims = fig_cfg["coupling_ranges"].get(model)
    if ylims:
        ax.set_ylim(*ylims)
    else:
        lo = min(df["coupling_limit"].min() for df, _ in curves)
        ax.set_ylim(lo / 3, lo * 1e6)
    bbn = fig_cfg["bbn"]
    if bbn.get("m_max_MeV", 0) > 0:
        plot_band_below(ax, bbn["m_max_MeV"], bbn.get("label", "BBN"))
    measured = [(df["m_med_MeV"], df["coupling_limit"]) for df, meta in curves if not is_projection(meta)]
    plot_union_fill(ax, measured)
    for df, meta in sorted(curves, key=lambda c: is_projection(c[1])):
        plot_exclusion(
            ax,
            df["m_med_MeV"],
            df["coupling_limit"],
            meta["experiment_label"],
            EXPERIMENT_COLOURS.get(meta["experiment"], "C0"),
            alpha=0.0,
            projection=is_projection(meta),
        )
    for (label, (m, g)), ls in zip(references.items(), REFERENCE_STYLES):
        ax.plot(m, g, color="0.35", lw=0.8, ls=ls, label=label)
    meta = curves[0][1]
    ax.set_title(meta["model_label"])
    ax.set_xlabel(r"$m$ [MeV]")
    ax.set_ylabel(meta["coupling_label"] + f" ({100 * meta['cl']:g} % CL)")
    ax.legend(loc="upper left", fontsize=5.2, ncol=2 if references else 1)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    tables = [io.read_table(p) for p in inputs["limits"]]
    models = list(dict.fromkeys(meta["model"] for _, meta in tables))
    fig_cfg = params["fig"]
    references = {model: {} for model in models}
    for ref in fig_cfg.get("reference_limits", {}).values():
        if ref["model"] in references:
            m, g = read_darkcast_limit(inputs[ref["input"]])
            references[ref["model"]][ref["label"]] = (m, coupling_product(g, ref["charge_product"]))
    ncols = 2 if len(models) > 1 else 1
    nrows = math.ceil(len(models) / ncols)
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 2.9 * nrows), squeeze=False)
        for ax, model in zip(axes.flat, models):
            panel(ax, model, [(df, meta) for df, meta in tables if meta["model"] == model], references[model], fig_cfg)
        for ax in axes.flat[len(models) :]:
            ax.set_visible(False)
        fig.tight_layout()
        save_and_close(fig, outputs["pdf"], outputs["png"])
    log.info("fig3: %d panels, %d curves", len(models), len(tables))


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
