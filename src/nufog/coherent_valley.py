"""The valley of the COHERENT CsI NSI map: for every eps_ee^uV, the eps_ee^dV of the Delta chi^2
minimum in each of the two degenerate bands (physics.md section 5).

NumPy only, apart from the nuclei: the Fig. 4 job draws the valley from the stored map without
importing the fits (:mod:`nufog.coherent_nsi`, which re-exports :func:`nsi_valley`, and scipy).
"""

from __future__ import annotations

import numpy as np

from nufog.nuclei import csi, nsi_charge, vector_charge

__all__ = ["nsi_valley"]


def nsi_valley(eps_u: np.ndarray, eps_d: np.ndarray, delta_chi2: np.ndarray) -> list[np.ndarray]:
    """The line of minima of a Delta chi^2 map (n_u, n_d): for every eps_u, each local minimum in
    eps_d, refined by a parabola through the three grid points.

    Returns two arrays (n_u, 3) of (eps_u, eps_d, delta_chi2), NaN where the band's minimum is outside
    the grid: band 0 where the nu_e charge (mean over Cs and I) keeps the SM sign (it holds the SM
    point), band 1 where it is reversed."""
    bands = np.full((2, eps_u.size, 3), np.nan)
    bands[:, :, 0] = eps_u
    h = np.diff(eps_d)
    isotopes = csi().isotopes
    for i, u_val in enumerate(eps_u):
        row = delta_chi2[i]
        for j in [j for j in range(1, row.size - 1) if row[j] <= row[j - 1] and row[j] < row[j + 1]]:
            y0, y1, y2 = row[j - 1], row[j], row[j + 1]
            den = y0 - 2 * y1 + y2
            off = 0.5 * (y0 - y2) / den if den > 0 else 0.0
            d_min = float(eps_d[j] + off * (h[j] if off > 0 else h[j - 1]))
            q = np.mean([nsi_charge(iso.Z, iso.N, u_val, d_min) / vector_charge(iso.Z, iso.N) for iso in isotopes])
            k = 0 if q > 0 else 1
            if np.isnan(bands[k, i, 2]) or y1 < bands[k, i, 2]:
                bands[k, i, 1:] = (d_min, float(y1 - 0.25 * (y0 - y2) * off))
    return [bands[0], bands[1]]
