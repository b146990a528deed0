"""Nuclear-recoil quenching in liquid xenon: E_ee = L(E_nr) E_nr.

Two models (physics.md section 1):

- ``constant``: L = q_nr (the paper's Fig. 1 uses 0.15);
- ``lindhard``: L = k g(eps) / (1 + k g(eps)), eps = 11.5 E_nr[keV] Z^(-7/3),
  g = 3 eps^0.15 + 0.7 eps^0.6 + eps (Lindhard et al. 1963), k = 0.166 for xenon.

:class:`Quenching` converts energies both ways and carries spectra from keV_nr to keV_ee with the
Jacobian dE_ee/dE_nr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Quenching", "lindhard_factor", "from_config"]


def lindhard_factor(e_nr_keV: np.ndarray, k: float = 0.166, Z: int = 54) -> np.ndarray:
    """Lindhard quenching factor L(E_nr).

    >>> round(float(lindhard_factor(np.array(1.0))), 4)
    0.1525
    """
    e = np.asarray(e_nr_keV, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise ValueError("E_R_keV must be finite and >= 0")
    if not k > 0 or not Z > 0:
        raise ValueError(f"Lindhard k and Z must be positive, got k={k!r}, Z={Z!r}")
    eps = 11.5 * e * Z ** (-7.0 / 3.0)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)


@dataclass(frozen=True)
class Quenching:
    """A quenching model: ``model`` is ``"constant"`` (factor ``q_nr``) or ``"lindhard"`` (``k``)."""

    model: str = "constant"
    q_nr: float = 0.15
    k: float = 0.166
    Z: int = 54

    def __post_init__(self) -> None:
        if self.model not in ("constant", "lindhard"):
            raise ValueError(f"quenching model must be 'constant' or 'lindhard', got {self.model!r}")
        if not 0 < self.q_nr <= 1 or not 0 < self.k <= 1:
            raise ValueError("quenching q_nr and k must lie in (0, 1]")

    def factor(self, e_nr_keV: np.ndarray) -> np.ndarray:
        """L(E_nr), dimensionless."""
        e = np.asarray(e_nr_keV, dtype=float)
        if self.model == "constant":
            return np.full_like(e, self.q_nr)
        return lindhard_factor(e, self.k, self.Z)

    def to_ee(self, e_nr_keV: np.ndarray) -> np.ndarray:
        """Electron-equivalent energy [keV_ee] of a nuclear recoil [keV_nr]."""
        e = np.asarray(e_nr_keV, dtype=float)
        return self.factor(e) * e

    def to_nr(self, e_ee_keV: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_ee` (E_ee is monotonic in E_nr for both models).

        >>> q = Quenching("lindhard")
        >>> bool(np.allclose(q.to_ee(q.to_nr(np.array([0.1, 1.0, 5.0]))), [0.1, 1.0, 5.0]))
        True
        """
        e_ee = np.asarray(e_ee_keV, dtype=float)
        if self.model == "constant":
            return e_ee / self.q_nr
        grid = np.geomspace(1e-6, 1e4, 20001)
        return np.interp(e_ee, self.to_ee(grid), grid)

    def jacobian(self, e_nr_keV: np.ndarray) -> np.ndarray:
        """dE_ee/dE_nr at E_nr (analytic for constant, central difference for Lindhard)."""
        e = np.asarray(e_nr_keV, dtype=float)
        if self.model == "constant":
            return np.full_like(e, self.q_nr)
        h = 1e-4 * e
        return (self.to_ee(e + h) - self.to_ee(e - h)) / (2.0 * h)

    def spectrum_to_ee(self, e_ee_keV: np.ndarray, e_nr_keV: np.ndarray, rate_per_keV_nr: np.ndarray) -> np.ndarray:
        """dR/dE_ee on ``e_ee_keV`` from dR/dE_nr tabulated on ``e_nr_keV`` (log-log interpolation,
        zero outside the tabulated range)."""
        e_nr = self.to_nr(e_ee_keV)
        rate = np.asarray(rate_per_keV_nr, dtype=float)
        positive = rate > 0
        if not positive.any():
            return np.zeros_like(np.asarray(e_ee_keV, dtype=float))
        log_rate = np.interp(
            np.log(e_nr),
            np.log(e_nr_keV),
            np.where(positive, np.log(np.where(positive, rate, 1.0)), -745.0),
            left=-np.inf,
            right=-np.inf,
        )
        return np.exp(log_rate) / self.jacobian(e_nr)


def from_config(cfg: Mapping[str, float | str], Z: int = 54) -> Quenching:
    """Build from the ``xenon.quenching`` config section."""
    return Quenching(
        str(cfg.get("model", "constant")), float(cfg.get("q_nr", 0.15)), float(cfg.get("lindhard_k", 0.166)), Z
    )
