"""Paper Fig. 4 (rule ``plot_fig4``): COHERENT CsI allowed region in (eps_ee^uV, eps_ee^dV).

The chi^2 is nearly flat along the two degenerate bands (the Cs and I neutron-to-proton ratios differ
by 1.5 %), so no best-fit point is drawn: the dashed lines are the valley (for each eps_u the eps_d of
the chi^2 minimum in each band, :func:`nufog.coherent_valley.nsi_valley`) inside the allowed region.
"""

import logging

import matplotlib.pyplot as plt
import numpy as np

from nufog import io
from nufog.coherent_valley import nsi_valley  # not nufog.coherent: the fits and scipy cost ~1 s of imports
from nufog.plotting import save_and_close, style
from nufog.scripting import run

log = logging.getLogger(__name__)


def main(inputs: dict, outputs: dict, params: dict) -> None:
    scan, _ = io.read_columns(inputs["0"])
    eu = np.unique(scan["eps_u"])
    ed = np.unique(scan["eps_d"])
    dchi2 = scan["delta_chi2"].reshape(eu.size, ed.size)
    level = -2.0 * np.log1p(-params["cl"])  # chi2.ppf(cl, df=2), two parameters: 4.61 at 90 % CL
    if "fit_ok" in scan and not scan["fit_ok"].all():
        # far from both bands the fits need pulls beyond the likelihood core's 5 sigma bounds: flagged,
        # with a chi^2 above the unbounded one; a flagged point near the contour would matter
        flagged = ~scan["fit_ok"]
        near = flagged & (scan["delta_chi2"] < 4 * level)
        (log.warning if near.any() else log.info)(
            "%d grid points have fit_ok = False, %d of them with Delta chi^2 < %.1f",
            flagged.sum(),
            near.sum(),
            4 * level,
        )
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 3.2))
        ax.contourf(ed, eu, dchi2, levels=[0.0, level], colors=["#0C5DA5"], alpha=0.35)
        ax.contour(ed, eu, dchi2, levels=[level], colors=["#0C5DA5"], linewidths=0.9)
        for k, band in enumerate(nsi_valley(eu, ed, dchi2)):
            inside = band[:, 2] < level
            ax.plot(
                np.where(inside, band[:, 1], np.nan),
                band[:, 0],
                color="k",
                lw=0.7,
                ls="--",
                label="valley (line of minima)" if k == 0 else None,
            )
        ax.plot([0.0], [0.0], marker="*", color="#FF2C00", ms=7, ls="none", label="SM")
        ax.set_xlabel(r"$\varepsilon_{ee}^{dV}$")
        ax.set_ylabel(r"$\varepsilon_{ee}^{uV}$")
        ax.set_xlim(ed[0], ed[-1])
        ax.set_ylim(eu[0], eu[-1])
        ax.set_title(f"COHERENT CsI 2021, {100 * params['cl']:g} % CL allowed (2 d.o.f.)", fontsize=7)
        ax.legend(loc="upper right")
        ax.set_aspect("equal")
        save_and_close(fig, outputs["pdf"], outputs["png"])


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
