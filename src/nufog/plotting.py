"""Plot helpers: the journal style and figure panels. Helpers take ``ax`` and return artists.

The look follows AxionLimits: log-log axes, excluded regions filled to the top edge with a thin
darker edge line, labels inside the plot.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["STYLE", "style", "plot_rates", "PROCESS_LABELS"]

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
