"""Fig. 5 (rule ``plot_fig5``): per CEvNS model, nufog's combined 2026 limit (``figures.fig5.combination``)
with its expected median and +-1 sigma / +-2 sigma bands, the single 2026 release curves, and the
paper-reproduction curves (Fig. 3's data sets and their 2024 combination) and COHERENT CsI. Log-log,
excluded regions filled with a thin edge (the 2026 combination in colour, the union of the older
results in grey)."""

import logging
import math

import matplotlib.pyplot as plt
import numpy as np

from nufog import io
from nufog.plotting import (
    EXPERIMENT_COLOURS,
    converged_curve,
    legend_below,
    plot_band_below,
    plot_exclusion,
    plot_union_fill,
    save_and_close,
    style,
)
from nufog.scripting import run

log = logging.getLogger(__name__)

COMBINED = "#C0392B"
RELEASE_STYLES = {0: ("#6A3D9A", (0, (4, 1.5))), 1: ("#1F78B4", (0, (1.5, 1)))}
BAND_COLOURS = {2: "#FFE680", 1: "#8CD17D"}


def _curve(df):
    m = np.asarray(df["m_med_MeV"], dtype=float)
    g = np.asarray(df["coupling_limit"], dtype=float)
    ok = np.isfinite(g) & (g > 0)
    return m[ok], g[ok]


def panel(ax, model, combined, releases, compare, fig_cfg, ylims, bbn):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*fig_cfg["m_med_MeV"])
    df, meta = combined
    limits = _curve(df)[1]
    if ylims or not limits.size:  # configured, or a combined curve without a converged mass
        ax.set_ylim(*(ylims or (1e-12, 1e-4)))
    else:
        lo = limits.min()
        ax.set_ylim(lo / 10, lo * 1e6)
    if bbn.get("m_max_MeV", 0) > 0:
        plot_band_below(ax, bbn["m_max_MeV"], bbn.get("label", "BBN"))
    plot_union_fill(ax, [_curve(d) for d, _ in compare])
    for d, mt in compare:
        m, g = _curve(d)
        colour = EXPERIMENT_COLOURS.get(mt["experiment"], "0.3")
        ls = "-" if mt["experiment"] != "coherent_csi" else (0, (3, 1))
        ax.plot(m, g, color=colour, lw=0.7, ls=ls, alpha=0.9, label=mt["experiment_label"])
    m = np.asarray(df["m_med_MeV"], dtype=float)
    for n, colour in BAND_COLOURS.items():
        ax.fill_between(
            m,
            df[f"expected_minus{n}"],
            df[f"expected_plus{n}"],
            color=colour,
            lw=0,
            alpha=0.8,
            label=rf"expected $\pm{n}\sigma$",
            zorder=1,
        )
    label = f"{meta['experiment_label']}, expected"  # whose bands they are, as in Fig. 3
    ax.plot(m, df["expected_median"], color="k", lw=0.7, ls="--", label=label, zorder=2)
    mc, gc = _curve(df)
    line, fill, _ = plot_exclusion(ax, mc, gc, meta["experiment_label"], COMBINED, alpha=0.12)
    line.set_zorder(3)
    for k, (d, mt) in enumerate(releases):
        colour, ls = RELEASE_STYLES.get(k, ("0.2", ":"))
        mr, gr = _curve(d)
        ax.plot(mr, gr, color=colour, lw=0.9, ls=ls, label=mt["experiment_label"], zorder=3)
    ax.set_title(meta["model_label"])
    ax.set_xlabel(r"$m$ [MeV]")
    ax.set_ylabel(meta["coupling_label"] + f" ({100 * meta['cl']:g} % CL)")


def main(inputs: dict, outputs: dict, params: dict) -> None:
    fig_cfg = params["fig"]
    tables = {}
    for key in ("combined", "releases", "compare"):
        for path in inputs[key]:
            df, meta = io.read_columns(path)
            ok = converged_curve(df, meta, log)  # a flagged mass is not a result: neither limit nor bands drawn
            tables.setdefault(meta["model"], {}).setdefault(key, []).append((ok, meta))
    models = list(params["models"])
    ncols = 2 if len(models) > 1 else 1
    nrows = math.ceil(len(models) / ncols)
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 3.1 * nrows), squeeze=False)
        for ax, model in zip(axes.flat, models):
            t = tables[model]
            panel(
                ax,
                model,
                t["combined"][0],
                t.get("releases", []),
                t.get("compare", []),
                fig_cfg,
                params["coupling_ranges"].get(model),
                params["bbn"],
            )
        for ax in axes.flat[len(models) :]:
            ax.set_visible(False)
        legend_below(fig, axes.flat[: len(models)], 3.1, nrows)
        save_and_close(fig, outputs["pdf"], outputs["png"])
    log.info("fig5: %d panels", len(models))


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
