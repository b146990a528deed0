"""Binned data sets of the likelihood (:mod:`nufog.likelihood`): samples, signals, named nuisances.

A :class:`Dataset` has analysis bins i with observed counts n_i, coupling-independent :class:`Sample` s
(backgrounds, the SM CEvNS), new-physics :class:`Signal` s (terms linear and quadratic in the coupling
product G per mediator mass) and :class:`Modifier` s, named nuisances acting on them (normal, lognormal
or shape). :func:`combine` joins data sets: bins concatenated, nuisances shared by name. The expected
counts and the likelihood are in :mod:`nufog.likelihood`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Modifier", "Sample", "Signal", "Dataset", "combine", "MODIFIER_KINDS", "INTERPOLATIONS"]

MODIFIER_KINDS = ("normal", "lognormal", "shape")
INTERPOLATIONS = ("linear", "quadratic")


@dataclass(frozen=True, eq=False)
class Modifier:
    """A named nuisance acting on one sample or signal (see the module docstring)."""

    nuisance: str
    kind: str
    sigma: float = 0.0
    down: np.ndarray | None = None
    up: np.ndarray | None = None
    interpolation: str = "quadratic"

    def __post_init__(self) -> None:
        if self.kind not in MODIFIER_KINDS:
            raise ValueError(f"nuisance {self.nuisance!r}: kind must be one of {MODIFIER_KINDS}, got {self.kind!r}")
        if self.kind == "shape":
            if self.down is None or self.up is None:
                raise ValueError(f"shape nuisance {self.nuisance!r} needs templates at -1 and +1 sigma")
            if self.interpolation not in INTERPOLATIONS:
                raise ValueError(f"shape nuisance {self.nuisance!r}: interpolation must be one of {INTERPOLATIONS}")
            for name in ("down", "up"):
                arr = np.asarray(getattr(self, name), dtype=float)
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"shape nuisance {self.nuisance!r}: {name} template is not finite")
                object.__setattr__(self, name, arr)
        elif not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"nuisance {self.nuisance!r}: relative sigma must be finite and > 0, got {self.sigma!r}")

    @property
    def lower_bound(self) -> float:
        """Smallest theta keeping a normal factor positive (1 + sigma theta > 0)."""
        return -1.0 / self.sigma + 1e-9 if self.kind == "normal" else -np.inf


def _check_template(values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: template has non-finite values")
    return arr


@dataclass(frozen=True, eq=False)
class Sample:
    """A coupling-independent template (events per bin) with its modifiers."""

    name: str
    nominal: np.ndarray
    modifiers: tuple[Modifier, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "nominal", _check_template(self.nominal, f"sample {self.name!r}"))
        if self.nominal.ndim != 1:
            raise ValueError(f"sample {self.name!r}: nominal must be 1-d (bins)")
        if np.any(self.nominal < 0):
            raise ValueError(f"sample {self.name!r}: negative expected events")
        for m in self.modifiers:
            if m.kind == "shape" and (m.down.shape != self.nominal.shape or m.up.shape != self.nominal.shape):
                raise ValueError(f"sample {self.name!r}: shape nuisance {m.nuisance!r} has the wrong template shape")


@dataclass(frozen=True, eq=False)
class Signal:
    """New-physics terms of one flux group: ``terms`` (2, n_mass, n_bins) = (linear, quadratic) in G.

    A shape modifier's ``down`` and ``up`` have the shape of ``terms``.
    """

    name: str
    terms: np.ndarray
    modifiers: tuple[Modifier, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", _check_template(self.terms, f"signal {self.name!r}"))
        if self.terms.ndim != 3 or self.terms.shape[0] != 2:
            raise ValueError(f"signal {self.name!r}: terms must have shape (2, n_mass, n_bins)")
        if np.any(self.terms[1] < 0):
            raise ValueError(f"signal {self.name!r}: the quadratic term must be >= 0")
        for m in self.modifiers:
            if m.kind == "shape" and (m.down.shape != self.terms.shape or m.up.shape != self.terms.shape):
                raise ValueError(f"signal {self.name!r}: shape nuisance {m.nuisance!r} has the wrong template shape")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Observed counts, samples and signals of one data set (or a combination) for one mediator model.

    ``masses_MeV`` is the mediator-mass grid of the signal terms; ``free`` names unconstrained nuisances.
    """

    name: str
    observed: np.ndarray
    samples: tuple[Sample, ...]
    signals: tuple[Signal, ...] = ()
    masses_MeV: np.ndarray = field(default_factory=lambda: np.zeros(0))
    free: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        n = _check_template(self.observed, f"data set {self.name!r} observed counts")
        if n.ndim != 1 or n.size == 0 or np.any(n < 0):
            raise ValueError(f"data set {self.name!r}: observed counts must be a non-empty 1-d array >= 0")
        object.__setattr__(self, "observed", n)
        masses = np.atleast_1d(np.asarray(self.masses_MeV, dtype=float))
        object.__setattr__(self, "masses_MeV", masses)
        for s in self.samples:
            if s.nominal.shape != n.shape:
                raise ValueError(f"data set {self.name!r}: sample {s.name!r} has {s.nominal.size} bins, not {n.size}")
        for g in self.signals:
            if g.terms.shape[1:] != (masses.size, n.size):
                raise ValueError(
                    f"data set {self.name!r}: signal {g.name!r} has shape {g.terms.shape[1:]}, "
                    f"expected ({masses.size} masses, {n.size} bins)"
                )
        if not self.samples:
            raise ValueError(f"data set {self.name!r} has no samples")

    @property
    def n_bins(self) -> int:
        return self.observed.size

    @property
    def nuisances(self) -> tuple[str, ...]:
        """Names of all nuisances, in order of first appearance."""
        names: dict[str, None] = {}
        for part in (*self.samples, *self.signals):
            for m in part.modifiers:
                names.setdefault(m.nuisance)
        return tuple(names)

    def expected_sm(self) -> np.ndarray:
        """Expected counts at G = 0 and nominal nuisances (the Asimov data of the background-only fit)."""
        return sum(s.nominal for s in self.samples)

    def with_observed(self, counts: np.ndarray) -> Dataset:
        """The same data set with other observed counts (a toy or an Asimov data set)."""
        return replace(self, observed=np.asarray(counts, dtype=float))

    def without_nuisances(self) -> Dataset:
        """Every modifier dropped: the nuisances fixed at their nominal values (the paper's likelihood)."""
        return replace(
            self,
            samples=tuple(replace(s, modifiers=()) for s in self.samples),
            signals=tuple(replace(g, modifiers=()) for g in self.signals),
            free=frozenset(),
        )


def combine(datasets: Sequence[Dataset], name: str) -> Dataset:
    """Joint data set: bins concatenated, nuisances shared by name (one parameter, one pull term).

    Samples and signals keep their data set's bins and are zero elsewhere; the mass grids must agree.
    """
    if not datasets:
        raise ValueError(f"combination {name!r} lists no data sets")
    masses = datasets[0].masses_MeV
    for d in datasets[1:]:
        if d.masses_MeV.shape != masses.shape or not np.allclose(d.masses_MeV, masses, rtol=1e-12):
            raise ValueError(f"combination {name!r}: {d.name!r} has another mediator-mass grid")
    sizes = [d.n_bins for d in datasets]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total = int(offsets[-1])

    def pad(values: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros(values.shape[:-1] + (total,))
        out[..., offsets[k] : offsets[k + 1]] = values
        return out

    def pad_mods(mods: tuple[Modifier, ...], k: int) -> tuple[Modifier, ...]:
        return tuple(replace(m, down=pad(m.down, k), up=pad(m.up, k)) if m.kind == "shape" else m for m in mods)

    samples, signals = [], []
    for k, d in enumerate(datasets):
        samples += [Sample(f"{d.name}/{s.name}", pad(s.nominal, k), pad_mods(s.modifiers, k)) for s in d.samples]
        signals += [Signal(f"{d.name}/{g.name}", pad(g.terms, k), pad_mods(g.modifiers, k)) for g in d.signals]
    return Dataset(
        name=name,
        observed=np.concatenate([d.observed for d in datasets]),
        samples=tuple(samples),
        signals=tuple(signals),
        masses_MeV=masses,
        free=frozenset().union(*(d.free for d in datasets)),
    )
