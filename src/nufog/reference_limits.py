"""Published limits drawn for comparison (paper Fig. 3): DARKCAST tables and the BBN bound.

DARKCAST ``.lmt`` files (Ilten, Soreq, Williams, Xue, arXiv:1801.04847) list the mediator mass
[GeV] and the lower edge of the excluded coupling. The native B-L limits from nu-e scattering
(Borexino, TEXONO, CHARM-II; Bauer, Foldenauer, Jaeckel 2018) bound g_BL; in a B-L model the
neutrino charge is 1 and the quark charge 1/3 (in units of g_BL), so on the universal-vector axis
|g_nu g_q| = g_BL^2 / 3. They assume an electron coupling, which a leptophobic vector lacks: they are
reference curves, not limits on that model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nufog import units as u

__all__ = ["read_darkcast_limit", "coupling_product"]


def read_darkcast_limit(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(mass [MeV], lower coupling bound) from a DARKCAST ``.lmt`` table, sorted by mass.

    Two-sided tables (``mass lower upper``) return the lower edge only.
    """
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] < 2 or len(data) < 2:
        raise ValueError(f"{path}: expected columns 'mass [GeV] lower [upper]'")
    order = np.argsort(data[:, 0])
    return data[order, 0] * u.GeV, data[order, 1]


def coupling_product(g: np.ndarray, charge_product: float) -> np.ndarray:
    """Coupling product of a model whose couplings are charges times one gauge coupling g.

    >>> float(coupling_product(np.array(3e-3), 1.0 / 3.0))  # B-L: nu charge 1, quark charge 1/3
    3e-06
    """
    if not charge_product > 0:
        raise ValueError(f"charge product must be positive, got {charge_product}")
    return charge_product * np.asarray(g, dtype=float) ** 2
