"""Plot helpers: the journal style and figure panels. Helpers take ``ax`` and return artists.

The look follows AxionLimits: log-log axes, excluded regions filled to the top edge with a thin
darker edge line, labels inside the plot.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.layout_engine import TightLayoutEngine

__all__ = [
    "STYLE",
    "style",
    "plot_rates",
    "save_and_close",
    "plot_exclusion",
    "plot_union_fill",
    "plot_band_below",
    "plot_efficiency",
    "plot_expected_band",
    "converged",
    "converged_curve",
    "mask_threshold",
    "PROCESS_LABELS",
    "EXPERIMENT_COLOURS",
    "legend_below",
]

STYLE = Path(__file__).with_name("paper.mplstyle")

PROCESS_LABELS = {
    "cevns": r"CE$\nu$NS",
    "migdal": "Migdal",
    "electron": r"$\nu$-$e$ scattering",
}


@contextmanager
def style():
    """Context with the nufog journal style (``paper.mplstyle``), independent of user rc files."""
    with plt.style.context(["default", str(STYLE)]):
        yield


def save_and_close(fig, *paths) -> None:
    """Save ``fig`` to every path (date-free, atomically: :func:`nufog.io.save_figure`) and close it.

    Every file is cropped to the figure's tight bounding box, measured once on its canvas (Agg at
    ``figure.dpi``, the PNG's resolution), plus ``savefig.pad_inches``: ``bbox_inches="tight"`` would
    lay out and measure the whole figure again for every file. PDFs get the pad twice: their text
    extents (font metrics in whole points) reach up to ~1.5 pt beyond the canvas's.
    """
    from nufog.io import save_figure

    bbox = fig.get_tightbbox()
    pad = plt.rcParams["savefig.pad_inches"]
    for path in paths:
        save_figure(fig, path, bbox_inches=bbox.padded(2 * pad if str(path).endswith(".pdf") else pad))
    plt.close(fig)


def plot_rates(ax, curves: Mapping[str, tuple[np.ndarray, np.ndarray]], **kwargs):
    """Plot rates (energy [keV_ee], rate [1/(t yr keV)]) on log-log axes; zero rates are masked.

    Returns the list of Line2D artists in the order of ``curves``.
    """
    lines = []
    for label, (energy, rate) in curves.items():
        rate = np.where(np.asarray(rate) > 0, rate, np.nan)
        (line,) = ax.plot(energy, rate, label=label, **kwargs)
        lines.append(line)
    ax.set_xscale("log")
    ax.set_yscale("log")
    return lines


#: Fixed colours per experiment key, so every figure agrees; others take the cycle.
EXPERIMENT_COLOURS = {
    "pandax4t_s1s2": "#0C5DA5",
    "pandax4t_s2only": "#00B945",
    "xenonnt": "#FF2C00",
    "xlzd": "#845B97",
    "coherent_csi": "#FF9500",
    "xenon_2024": "black",
}


def plot_exclusion(ax, m, g, label=None, color="C0", alpha=0.08, projection=False, top=None, label_at=None):
    """Excluded region above the curve g(m), filled to the top of the axes with a thin edge line.

    A projection is drawn as a dashed line without fill. ``label_at`` (a mass) places the label in
    the plot next to the curve, otherwise the artists carry ``label`` for a legend.
    Returns (line, fill or None, text or None).
    """
    m = np.asarray(m, dtype=float)
    g = np.asarray(g, dtype=float)
    ok = np.isfinite(g) & (g > 0)
    m, g = m[ok], g[ok]
    top = top if top is not None else ax.get_ylim()[1]
    fill = None
    if projection:
        (line,) = ax.plot(m, g, ls="--", lw=1.0, color=color, label=label)
    else:
        fill = ax.fill_between(m, g, top, color=color, alpha=alpha, lw=0)
        (line,) = ax.plot(m, g, lw=0.9, color=color, label=label)
    text = None
    if label_at is not None and label:
        y = np.interp(np.log(label_at), np.log(m), np.log(g))
        text = ax.text(label_at, np.exp(y) * 0.55, label, color=color, fontsize=6, ha="center", va="top")
    return line, fill, text


def converged(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rows of a limit table whose fits converged (``fit_ok``; every row of a table without it): a
    flagged mass is not a result, so the figures leave it out as the HEPData record does.

    >>> converged({"m_med_MeV": np.array([1.0, 2.0]), "fit_ok": np.array([True, False])})["m_med_MeV"]
    array([1.])
    """
    if "fit_ok" not in columns:
        return dict(columns)
    ok = np.asarray(columns["fit_ok"], dtype=bool)
    return {name: np.asarray(values)[ok] for name, values in columns.items()}


def converged_curve(columns: Mapping[str, np.ndarray], meta: Mapping[str, Any], log) -> dict[str, np.ndarray]:
    """:func:`converged` of a limit file's columns, with a warning on ``log`` for the masses left out."""
    ok = converged(columns)
    flagged = len(columns["m_med_MeV"]) - len(ok["m_med_MeV"])
    name = f"{meta['model']} x {meta['experiment']}"
    if flagged and len(ok["m_med_MeV"]):
        log.warning("%s: %d masses have fit_ok = False: not drawn", name, flagged)
    elif flagged:
        log.warning("%s: no mass has a converged fit (fit_ok = False everywhere): curve not drawn", name)
    return ok


def plot_union_fill(ax, curves, color="0.55", alpha=0.18, n=600):
    """Fill the region excluded by any of ``curves`` [(m, g), ...]: above their lower envelope.

    Returns the fill artist (or None without curves; a curve without points is left out).
    """
    curves = [(np.asarray(m, float), np.asarray(g, float)) for m, g in curves]
    curves = [(m, g) for m, g in curves if m.size]
    if not curves:
        return None
    lo = min(m.min() for m, _ in curves)
    hi = max(m.max() for m, _ in curves)
    grid = np.geomspace(lo, hi, n)
    env = np.full(n, np.inf)
    for m, g in curves:
        inside = (grid >= m.min()) & (grid <= m.max())
        env[inside] = np.minimum(env[inside], np.exp(np.interp(np.log(grid[inside]), np.log(m), np.log(g))))
    ok = np.isfinite(env)
    return ax.fill_between(grid[ok], env[ok], ax.get_ylim()[1], color=color, alpha=alpha, lw=0, zorder=0)


def plot_band_below(ax, m_max, label, color="0.4", label_y=0.07):
    """Hatched vertical band of masses below ``m_max`` (e.g. BBN), labelled inside the plot at the
    height ``label_y`` (fraction of the log y axis; above 0.5 the label hangs from that height)."""
    x0 = ax.get_xlim()[0]
    if m_max <= x0:
        return None
    span = ax.axvspan(x0, m_max, facecolor="none", edgecolor=color, hatch="////", lw=0, alpha=0.35, zorder=0)
    ylo, yhi = ax.get_ylim()
    ax.text(
        np.sqrt(x0 * m_max),
        np.exp((1.0 - label_y) * np.log(ylo) + label_y * np.log(yhi)),
        label,
        color=color,
        ha="center",
        va="top" if label_y > 0.5 else "bottom",
        fontsize=7,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.8},
    )
    return span


def plot_efficiency(ax, e, eff, label, color, **kwargs):
    """Efficiency curve (linear y in [0, 1]) on a secondary axis."""
    (line,) = ax.plot(e, eff, color=color, lw=0.9, label=label, **kwargs)
    return line


def mask_threshold(energy, rate, max_log_slope: float = 10.0) -> np.ndarray:
    """``rate`` with NaN at zero rates and on the rising edge above a threshold.

    From the first non-zero point on, points are masked while the spectrum rises faster than
    E^``max_log_slope`` (an ionisation edge, e.g. the Migdal rate at the n = 4 binding energy), so a
    log-log plot does not start with a vertical segment.

    >>> e = np.array([1.0, 1.1, 1.2, 1.3, 2.0, 3.0])
    >>> mask_threshold(e, np.array([0.0, 1e-3, 1.0, 1.1, 1.2, 1.0])).tolist()
    [nan, nan, 1.0, 1.1, 1.2, 1.0]
    """
    e = np.asarray(energy, dtype=float)
    r = np.where(np.asarray(rate, dtype=float) > 0, rate, np.nan)
    on = np.nonzero(np.isfinite(r))[0]
    if on.size < 2:
        return r
    i = on[0]
    while (
        i + 1 < r.size and np.isfinite(r[i + 1]) and np.log(r[i + 1] / r[i]) > max_log_slope * np.log(e[i + 1] / e[i])
    ):
        r[i] = np.nan
        i += 1
    return r


def plot_expected_band(ax, m, median, minus1, plus1, minus2, plus2, colors=("#FFDF00", "#00C000"), label=None):
    """Expected-limit bands (±2σ, ±1σ; Brazil style) and the dashed expected median, behind the curves.

    Returns (fill2, fill1, median line).
    """
    m = np.asarray(m, dtype=float)
    f2 = ax.fill_between(m, minus2, plus2, color=colors[0], lw=0, zorder=0.6, label=r"expected $\pm 2\sigma$")
    f1 = ax.fill_between(m, minus1, plus1, color=colors[1], lw=0, zorder=0.7, label=r"expected $\pm 1\sigma$")
    (line,) = ax.plot(m, median, color="k", lw=0.7, ls=(0, (3, 2)), zorder=0.8, label=label or "expected median")
    return f2, f1, line


def legend_below(fig, axes, panel_height_in: float, n_rows: int, max_columns: int = 4):
    """One legend for all panels, below them (inside the panels it would cover curves); lays the figure out
    above it. Returns the legend (or None when no artist has a label)."""
    import math

    handles = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    ncol = min(len(handles), max_columns)
    rows = math.ceil(len(handles) / max(ncol, 1))
    bottom = (0.12 + 0.11 * rows) / (panel_height_in * n_rows)  # legend height as a fraction of the figure
    legend = None
    if handles:
        legend = fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=ncol, fontsize=6, frameon=False)
    # as fig.tight_layout, but without leaving a layout engine on the figure (savefig would lay it out again)
    TightLayoutEngine(rect=(0, bottom, 1, 1)).execute(fig)
    return legend
