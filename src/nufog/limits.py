"""Light-mediator limits for one (model, experiment) pair (paper Eqs. 20-22, physics.md 3-4).

At each mediator mass m the new-physics event count is a polynomial in the coupling product G,

    N_BSM(m, G) = a(m) G + b(m) G^2,

with a = 0 for the scalars. :func:`count_coefficients` folds the model's differential terms
(:mod:`nufog.mediators`) with the experiment's efficiency once per mass, and the limit at each mass
is the root of a quadratic (:func:`nufog.stats.coupling_limit`): no scan in G is needed.

Sign convention for the vector: G = g_nu g_q. The SM charge Q_V is negative, so G < 0 interferes
constructively (the paper's benchmark) and G > 0 destructively. :class:`SignalModel` works with
|G| and a ``coupling_sign``; limits are on |G|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nufog import stats
from nufog import units as u
from nufog.cevns import RecoilKernel
from nufog.experiments import Experiment, fold
from nufog.mediators import ElectronKernel, Mediator, cevns_rate_terms, electron_rate_terms

__all__ = [
    "SignalModel",
    "count_coefficients",
    "limit_curve",
    "chi2_map",
    "summarise_curve",
    "coupling_sign",
    "INTERFERENCE_SIGNS",
]

#: coupling sign s in G = s |G| for the vector model (Q_V < 0 in the SM)
INTERFERENCE_SIGNS = {"constructive": -1.0, "destructive": +1.0}


def coupling_sign(model: Mediator, interference: str = "constructive") -> float:
    """Sign of G for a model: the ``interference`` choice for an interfering (vector) model, +1 otherwise.

    >>> from nufog.mediators import get_model
    >>> coupling_sign(get_model("universal_vector")), coupling_sign(get_model("universal_scalar"), "destructive")
    (-1.0, 1.0)
    """
    if interference not in INTERFERENCE_SIGNS:
        raise ValueError(f"interference must be one of {sorted(INTERFERENCE_SIGNS)}, got {interference!r}")
    return INTERFERENCE_SIGNS[interference] if model.interferes else 1.0


@dataclass(frozen=True, eq=False)
class SignalModel:
    """A model seen by an experiment: kernel, efficiency on the kernel's grid and the SM counts."""

    model: Mediator
    experiment: Experiment
    kernel: RecoilKernel | ElectronKernel
    coupling_sign: float = -1.0

    def __post_init__(self) -> None:
        if self.model.target == "nucleus" and not isinstance(self.kernel, RecoilKernel):
            raise ValueError(f"model {self.model.name!r} needs a nuclear-recoil kernel")
        if self.model.target == "electron":
            if not self.experiment.electron_recoils:
                raise ValueError(
                    f"experiment {self.experiment.name!r} rejects electron recoils "
                    f"(electron_recoils: false), so model {self.model.name!r} does not apply"
                )
            if not isinstance(self.kernel, ElectronKernel):
                raise ValueError(f"model {self.model.name!r} needs an electron-recoil kernel")
        if self.coupling_sign not in (-1.0, 1.0):
            raise ValueError("coupling_sign must be +1 or -1")

    @property
    def energy_keV(self) -> np.ndarray:
        e = self.kernel.e_r_MeV if isinstance(self.kernel, RecoilKernel) else self.kernel.t_MeV
        return e / u.keV

    @property
    def efficiency(self) -> np.ndarray:
        if self.model.target == "nucleus":
            return self.experiment.efficiency_nr(self.energy_keV)
        return self.experiment.efficiency_ee(self.energy_keV)

    def terms(self, m_med_MeV: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Differential (L, Q) [1/(t yr keV)] for signed G, shape (n_mass, n_E)."""
        if self.model.target == "nucleus":
            return cevns_rate_terms(self.model, self.kernel, m_med_MeV)
        return electron_rate_terms(self.model, self.kernel, m_med_MeV)


#: masses per block in :func:`count_coefficients`: keeps the (mass, energy) temporaries in cache,
#: so the cost per mass does not grow with the grid
MASS_BLOCK = 128


def count_coefficients(signal: SignalModel, m_med_MeV: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with N_BSM = a |G| + b |G|^2 at each mass (the coupling sign is folded into a)."""
    masses = np.atleast_1d(np.asarray(m_med_MeV, dtype=float))
    eff, e = signal.efficiency, signal.energy_keV
    exposure = signal.experiment.exposure_t_yr
    a = np.empty(masses.size)
    b = np.empty(masses.size)
    for start in range(0, max(masses.size, 1), MASS_BLOCK):
        block = slice(start, start + MASS_BLOCK)
        lin, quad = signal.terms(masses[block])
        a[block] = signal.coupling_sign * fold(e, lin, eff, exposure)
        b[block] = fold(e, quad, eff, exposure)
    return a, b


def limit_curve(
    signal: SignalModel,
    m_med_MeV: np.ndarray,
    n_lim: float,
) -> dict[str, np.ndarray]:
    """Upper limit on |G| at each mass, with the coefficients behind it.

    Returns a dict of arrays: ``m_med_MeV``, ``coupling_limit``, ``a_events``, ``b_events``.
    """
    a, b = count_coefficients(signal, m_med_MeV)
    if np.any(b <= 0):
        raise ValueError(
            f"{signal.model.name} x {signal.experiment.name}: no BSM events at some masses; "
            "check that the efficiency ROI overlaps the energy grid"
        )
    g = stats.coupling_limit(a, b, n_lim)
    return {"m_med_MeV": np.asarray(m_med_MeV, float), "coupling_limit": np.asarray(g), "a_events": a, "b_events": b}


def chi2_map(
    signal: SignalModel,
    m_med_MeV: np.ndarray,
    couplings: np.ndarray,
    n_obs: float,
    background: float,
    reference: str = "background_only",
    sigma_b: float = 0.0,
) -> dict[str, np.ndarray]:
    """Delta chi^2 on the (mass, |G|) grid; arrays of shape (n_mass, n_coupling).

    Couplings must be finite and positive; up to the perturbative edge |G| = 4 pi the result is finite.
    """
    g = np.asarray(couplings, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("couplings must be a non-empty 1-d array of finite positive values (|g_nu g_x|)")
    a, b = count_coefficients(signal, m_med_MeV)
    g = g[None, :]
    n_bsm = a[:, None] * g + b[:, None] * g**2
    dchi2 = stats.delta_chi2_map(n_bsm, n_obs, background, reference=reference, sigma_b=sigma_b)
    return {"n_bsm": n_bsm, "delta_chi2": dchi2}


def summarise_curve(
    m_med_MeV: np.ndarray, coupling: np.ndarray, at_MeV=(1.0, 10.0, 100.0), flat_tolerance: float = 0.1
) -> dict[str, float]:
    """Limit at given masses (log-log interpolation) and the mass below which the curve is flat.

    ``flat_below_MeV`` is the largest mass up to which the limit stays within ``flat_tolerance``
    (relative) of its value at the lightest mass: where the propagator stops depending on m.

    >>> m = np.geomspace(0.01, 1e4, 601)
    >>> s = summarise_curve(m, 1e-10 * (1 + (m / 20.0) ** 2))
    >>> round(s["limit_at_100MeV"] / 1e-10, 2), round(s["flat_below_MeV"], 1)
    (26.0, 6.3)
    """
    m = np.asarray(m_med_MeV, dtype=float)
    g = np.asarray(coupling, dtype=float)
    if m.ndim != 1 or m.size < 2 or np.any(np.diff(m) <= 0) or np.any(~(g > 0)):
        raise ValueError("need increasing masses and positive limits")
    out = {}
    for x in at_MeV:
        inside = m[0] <= x <= m[-1]
        out[f"limit_at_{x:g}MeV"] = float(np.exp(np.interp(np.log(x), np.log(m), np.log(g)))) if inside else np.nan
    rising = np.nonzero(g > (1.0 + flat_tolerance) * g[0])[0]
    if rising.size == 0:
        out["flat_below_MeV"] = float(m[-1])
    else:
        k = rising[0]  # first point off the plateau: interpolate the crossing in log-log
        target = np.log((1.0 + flat_tolerance) * g[0])
        lg = np.log(g[k - 1 : k + 1])
        lm = np.log(m[k - 1 : k + 1])
        out["flat_below_MeV"] = float(np.exp(lm[0] + (target - lg[0]) * (lm[1] - lm[0]) / (lg[1] - lg[0])))
    return out
