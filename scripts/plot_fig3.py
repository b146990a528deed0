"""Paper Fig. 3 (rule ``plot_fig3``): limits on the coupling product versus mediator mass, one panel
per model: the xenon experiments and COHERENT (lines; their union shaded), projections (dashed), the
BBN region (hatched), published reference limits recast to the panel's coupling (grey), and, for the
combination curves (config ``combinations``) whose files carry them, the expected ±1σ/±2σ bands."""

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
    plot_expected_band,
    plot_union_fill,
    save_and_close,
    style,
)
from nufog.reference_limits import coupling_product, drop_leading_plateau, read_darkcast_limit
from nufog.scripting import run

log = logging.getLogger(__name__)


#: line styles of the reference limits (grey), in config order
REFERENCE_STYLES = ["-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (1, 1))]
#: columns of the expected limit: median, -1 sigma, +1 sigma, -2 sigma, +2 sigma
EXPECTED = ["expected_median", "expected_minus1", "expected_plus1", "expected_minus2", "expected_plus2"]


def is_projection(meta: dict) -> bool:
    if "projection" in meta:
        return bool(meta["projection"])
    return meta.get("n_obs") == meta.get("background")


def has_band(df, meta, combinations) -> bool:
    """Expected bands are drawn for combination curves whose file has the expected columns."""
    return meta["experiment"] in combinations and all(c in df for c in EXPECTED)


def y_range(curves, configured, in_range_m):
    """The configured y range if every curve's minimum lies inside it, else one derived from the data.

    Derived: from a factor 3 below the lowest limit (expected bands included) to 10^8 above it, in
    whole decades (the curves rise as m^2 and may leave the top at high mass).
    """
    lows = []
    for df, _ in curves:
        cols = ["coupling_limit"] + [c for c in EXPECTED if c in df]
        m = np.asarray(df["m_med_MeV"], dtype=float)
        sel = np.array([np.asarray(df[c], dtype=float) for c in cols])[:, in_range_m(m)]
        sel = sel[np.isfinite(sel) & (sel > 0)]
        if sel.size:
            lows.append(sel.min())
    if not lows:
        return configured or (1e-12, 1e-4)
    lo_data, hi_of_minima = min(lows), max(lows)
    if configured and configured[0] <= lo_data and hi_of_minima < configured[1]:
        return tuple(configured)
    lo = 10 ** math.floor(math.log10(lo_data / 3))
    return lo, lo * 1e8


def drawable(tables):
    """The curves at their converged masses (:func:`nufog.plotting.converged_curve`, which logs the rest);
    a curve left without any is not drawn."""
    curves = [(converged_curve(df, meta, log), meta) for df, meta in tables]
    return [(df, meta) for df, meta in curves if len(df["m_med_MeV"])]


def panel(ax, model, curves, references, fig_cfg, combinations, meta=None):
    """One model's panel; ``meta`` (its title and axis labels) defaults to the first curve's."""
    labels = meta or curves[0][1]
    ax.set_xscale("log")
    ax.set_yscale("log")
    xlim = fig_cfg["m_med_MeV"]
    ax.set_xlim(*xlim)
    ax.set_ylim(*y_range(curves, fig_cfg["coupling_ranges"].get(model), lambda m: (m >= xlim[0]) & (m <= xlim[1])))
    bbn = fig_cfg["bbn"]
    if bbn.get("m_max_MeV", 0) > 0:  # label at the top of the band: the projections run along its bottom
        plot_band_below(ax, bbn["m_max_MeV"], bbn.get("label", "BBN"), label_y=0.96)
    for df, meta in curves:
        if has_band(df, meta, combinations):
            plot_expected_band(
                ax, df["m_med_MeV"], *(df[c] for c in EXPECTED), label=f"{meta['experiment_label']}, expected"
            )
    measured = [(df["m_med_MeV"], df["coupling_limit"]) for df, meta in curves if not is_projection(meta)]
    plot_union_fill(ax, measured)
    for df, meta in sorted(curves, key=lambda c: is_projection(c[1])):
        plot_exclusion(
            ax,
            df["m_med_MeV"],
            df["coupling_limit"],
            meta["experiment_label"],
            EXPERIMENT_COLOURS.get(meta["experiment"], "k" if meta["experiment"] in combinations else "C0"),
            alpha=0.0,
            projection=is_projection(meta),
        )
    for (label, (m, g)), ls in zip(references.items(), REFERENCE_STYLES):
        ax.plot(m, g, color="0.35", lw=0.8, ls=ls, label=label)
    ax.set_title(labels["model_label"])
    ax.set_xlabel(r"$m$ [MeV]")
    ax.set_ylabel(labels["coupling_label"] + f" ({100 * labels['cl']:g} % CL)")


def main(inputs: dict, outputs: dict, params: dict) -> None:
    tables = [io.read_columns(p) for p in inputs["limits"]]
    models = list(dict.fromkeys(meta["model"] for _, meta in tables))
    fig_cfg = params["fig"]
    combinations = set(params.get("combinations") or ())  # names (a list, or the keys of a mapping)
    references = {model: {} for model in models}
    for ref in fig_cfg.get("reference_limits", {}).values():
        if ref["model"] in references:
            m, g = drop_leading_plateau(*read_darkcast_limit(inputs[ref["input"]]))
            references[ref["model"]][ref["label"]] = (m, coupling_product(g, ref["charge_product"]))
    ncols = 2 if len(models) > 1 else 1
    nrows = math.ceil(len(models) / ncols)
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 2.9 * nrows), squeeze=False)
        for ax, model in zip(axes.flat, models):
            mine = [(df, meta) for df, meta in tables if meta["model"] == model]
            panel(ax, model, drawable(mine), references[model], fig_cfg, combinations, mine[0][1])
        for ax in axes.flat[len(models) :]:
            ax.set_visible(False)
        legend_below(fig, axes.flat[: len(models)], 2.9, nrows)
        save_and_close(fig, outputs["pdf"], outputs["png"])
    log.info("fig3: %d panels, %d curves", len(models), len(tables))


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
