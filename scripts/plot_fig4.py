"""Paper Fig. 4 (rule ``plot_fig4``): COHERENT CsI allowed region in (eps_ee^uV, eps_ee^dV)."""

import logging

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import chi2

from nufog import io
from nufog.plotting import save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    df, meta = io.read_table(inputs["0"])
    eu = np.unique(df["eps_u"].to_numpy())
    ed = np.unique(df["eps_d"].to_numpy())
    dchi2 = df["delta_chi2"].to_numpy().reshape(eu.size, ed.size)
    level = chi2.ppf(params["cl"], df=2)  # two parameters: 4.61 at 90 % CL
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 3.2))
        ax.contourf(ed, eu, dchi2, levels=[0.0, level], colors=["#0C5DA5"], alpha=0.35)
        ax.contour(ed, eu, dchi2, levels=[level], colors=["#0C5DA5"], linewidths=0.9)
        ax.plot([0.0], [0.0], marker="*", color="#FF2C00", ms=7, ls="none", label="SM")
        bu, bd = meta["best_fit"]
        ax.plot([bd], [bu], marker="+", color="k", ms=6, ls="none", label="best fit")
        ax.set_xlabel(r"$\varepsilon_{ee}^{dV}$")
        ax.set_ylabel(r"$\varepsilon_{ee}^{uV}$")
        ax.set_title(f"COHERENT CsI 2021, {100 * params['cl']:g} % CL allowed (2 d.o.f.)", fontsize=7)
        ax.legend(loc="upper right")
        ax.set_aspect("equal")
        save_and_close(fig, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
