"""Data sets: how an experiment sees a recoil spectrum, and what it observed (physics.md sections 4 and 8).

A :class:`BinnedData` is everything the likelihood needs apart from the physics model: the analysis
bins with their observed counts, a :class:`Response` from true recoil energy to the bins (exposure and
quadrature weights included, with optional shape variations at -1 and +1 sigma), the background
samples with their nuisances, and the modifiers that act on every neutrino-induced template (e.g. a
signal-efficiency uncertainty). A paper counting experiment is the one-bin case: its response is the
efficiency times the exposure and the trapezoid weights of the folding grid.

Folding a differential rate dR/dE [1/(t yr keV)] on the response's energy nodes gives events per bin:

    S_i = sum_j R_ij dR/dE(E_j)

so :meth:`Response.fold` applies unchanged to the SM CEvNS rate and to the mediator terms of every model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nufog.likelihood import Modifier, Sample

__all__ = ["Response", "BinnedData", "trapezoid_weights"]

ENERGY_KINDS = ("nr", "ee")


def trapezoid_weights(e_keV: np.ndarray) -> np.ndarray:
    """Weights w_j with sum_j w_j f(E_j) = the trapezoid rule of f on the grid [keV].

    >>> trapezoid_weights(np.array([0.0, 1.0, 3.0])).tolist()
    [0.5, 1.5, 1.0]
    """
    e = np.asarray(e_keV, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("energy nodes must be an increasing 1-d array with at least two entries")
    w = np.zeros_like(e)
    w[1:] += 0.5 * np.diff(e)
    w[:-1] += 0.5 * np.diff(e)
    return w


@dataclass(frozen=True, eq=False)
class Response:
    """Events per bin for a unit differential rate on the energy nodes.

    Attributes
    ----------
    energy
        ``"nr"`` (nuclear recoils, keV_nr) or ``"ee"`` (electron recoils, keV_ee).
    e_keV
        True-energy nodes, increasing, shape (n_E,).
    matrix
        (n_bins, n_E): events in bin i per 1/(t yr keV) of dR/dE at node j (exposure [t yr], detection
        probability and the quadrature weight of node j included).
    variations
        Shape nuisances of the response: name -> (matrix at theta = -1, matrix at theta = +1).
    """

    energy: str
    e_keV: np.ndarray
    matrix: np.ndarray
    variations: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.energy not in ENERGY_KINDS:
            raise ValueError(f"response energy must be one of {ENERGY_KINDS}, got {self.energy!r}")
        e = np.asarray(self.e_keV, dtype=float)
        if e.ndim != 1 or e.size < 2 or np.any(~np.isfinite(e)) or np.any(np.diff(e) <= 0) or e[0] <= 0:
            raise ValueError("response energy nodes must be positive, finite and increasing")
        m = np.asarray(self.matrix, dtype=float)
        if m.ndim != 2 or m.shape[1] != e.size or np.any(~np.isfinite(m)) or np.any(m < 0):
            raise ValueError(f"response matrix must be finite, >= 0, of shape (n_bins, {e.size})")
        for name, pair in self.variations.items():
            if len(pair) != 2 or any(np.shape(v) != m.shape for v in pair):
                raise ValueError(f"response variation {name!r} needs two matrices of shape {m.shape}")
        object.__setattr__(self, "e_keV", e)
        object.__setattr__(self, "matrix", m)
        object.__setattr__(
            self, "variations", {k: tuple(np.asarray(v, float) for v in p) for k, p in self.variations.items()}
        )

    @property
    def n_bins(self) -> int:
        return self.matrix.shape[0]

    def fold(self, rate: np.ndarray, variation: str | None = None, side: int = 0) -> np.ndarray:
        """Events per bin from dR/dE on the nodes (last axis of ``rate``): shape rate.shape[:-1] + (n_bins,).

        ``variation``/``side`` (0: -1 sigma, 1: +1 sigma) select a shape variation of the response.
        """
        m = self.matrix if variation is None else self.variations[variation][side]
        return np.asarray(rate, dtype=float) @ m.T


@dataclass(frozen=True, eq=False)
class BinnedData:
    """One data set as the likelihood sees it, before a physics model is chosen.

    Attributes
    ----------
    name, label
        Key (file names) and display name.
    bin_labels
        One label per analysis bin (e.g. ``sr0/cs2_3``).
    observed
        Observed counts per bin; for a projection, the Asimov counts.
    response
        :class:`Response` of neutrino-induced recoils.
    backgrounds
        Samples that are not neutrino-induced (events per bin, with their modifiers).
    signal_modifiers
        Normal/lognormal modifiers that act on every neutrino-induced template (SM CEvNS and new
        physics), e.g. a signal-efficiency uncertainty; the response's shape variations are added
        automatically as shape modifiers of the same names.
    exposure_t_yr
        Total exposure [t yr] (for tables).
    free
        Names of unconstrained nuisances.
    response_ee
        Response to electron recoils (keV_ee), for data sets that keep them (S2-only, projections).
    sm_scale
        Factor on the SM neutrino-induced templates (1; below 1 only where a quoted background that
        includes the SM expectation is smaller than nufog's SM expectation, see
        :func:`nufog.analysis.counting_data`).
    meta
        Free-form metadata carried into the fold file (references, licences, notes).
    """

    name: str
    label: str
    bin_labels: tuple[str, ...]
    observed: np.ndarray
    response: Response
    backgrounds: tuple[Sample, ...] = ()
    signal_modifiers: tuple[Modifier, ...] = ()
    exposure_t_yr: float = 0.0
    free: frozenset[str] = frozenset()
    meta: Mapping[str, object] = field(default_factory=dict)
    response_ee: Response | None = None
    sm_scale: float = 1.0

    def __post_init__(self) -> None:
        n = np.asarray(self.observed, dtype=float)
        if n.ndim != 1 or n.size != self.response.n_bins or np.any(~np.isfinite(n)) or np.any(n < 0):
            raise ValueError(f"data set {self.name!r}: observed counts must be finite, >= 0, one per response bin")
        if len(self.bin_labels) != n.size:
            raise ValueError(f"data set {self.name!r}: {len(self.bin_labels)} bin labels for {n.size} bins")
        for s in self.backgrounds:
            if s.nominal.shape != n.shape:
                raise ValueError(f"data set {self.name!r}: background {s.name!r} has the wrong number of bins")
        if any(m.kind == "shape" for m in self.signal_modifiers):
            raise ValueError(f"data set {self.name!r}: shape variations of the signal belong in the response")
        if self.response_ee is not None and (self.response_ee.energy != "ee" or self.response_ee.n_bins != n.size):
            raise ValueError(f"data set {self.name!r}: response_ee must be an 'ee' response with {n.size} bins")
        if not (np.isfinite(self.sm_scale) and 0 < self.sm_scale <= 1):
            raise ValueError(f"data set {self.name!r}: sm_scale must lie in (0, 1], got {self.sm_scale!r}")
        object.__setattr__(self, "observed", n)

    def response_for(self, energy: str) -> Response:
        """The response to nuclear (``"nr"``) or electron (``"ee"``) recoils; a clear error if there is none."""
        if energy == self.response.energy:
            return self.response
        if energy == "ee" and self.response_ee is not None:
            return self.response_ee
        raise ValueError(
            f"data set {self.name!r} has no response to {'electron' if energy == 'ee' else 'nuclear'} recoils: "
            "a model with that signature cannot use it (list the data set only under models that apply)"
        )
