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

__all__ = ["read_darkcast_limit", "coupling_product", "drop_leading_plateau"]


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


def drop_leading_plateau(m: np.ndarray, g: np.ndarray, rtol: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Drop the flat leading segment ("shelf") of a digitised limit curve, keeping its last point.

    Published tables often start with a stretch where the bound no longer depends on the mass; drawn
    from an arbitrary first mass, it reads as a shelf. Points within ``rtol`` of the first value are
    dropped, except the last of them, so the curve starts where it begins to bend.

    >>> m, g = drop_leading_plateau(np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 1.01, 0.99, 1.5, 3.0]))
    >>> m.tolist(), g.tolist()
    ([3.0, 4.0, 5.0], [0.99, 1.5, 3.0])
    """
    m = np.asarray(m, dtype=float)
    g = np.asarray(g, dtype=float)
    off = np.nonzero(np.abs(g / g[0] - 1.0) > rtol)[0]
    if off.size == 0:  # flat everywhere: nothing to drop
        return m, g
    start = max(off[0] - 1, 0)
    return m[start:], g[start:]
