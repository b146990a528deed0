"""Experiments: one abstraction for every data set, driven by config (paper Table 1, physics.md 4).

An :class:`Experiment` is an exposure, observed and expected counts, and an efficiency versus
nuclear-recoil energy restricted to a region of interest. Folding a differential rate gives an
event count:

    N = exposure * integral dE eps(E) dR/dE

Efficiencies are a digitised table, a smooth error-function turn-on, or a step (projections). Any
of them can be rescaled, either by a fixed factor or so that the SM CEvNS expectation equals a
given number (how the PandaX-4T S2-only default is fixed: 43 events in 1.04 t yr, the paper's number).
Electron-recoil searches (the leptophilic scalar) see the same efficiency in keV_ee, converted
with the Lindhard model (k = 0.166, paper section 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

from nufog.quenching import Quenching
from nufog.quenching import from_config as quenching_from_config

__all__ = [
    "Efficiency",
    "Experiment",
    "read_efficiency_table",
    "efficiency_from_config",
    "experiment_from_config",
    "fold",
]


def read_efficiency_table(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Two-column CSV (E_nr [keV], efficiency), '#' comments; sorted by energy.

    Raises ValueError naming the file and line for a row that is not two finite numbers
    (``nan`` parses as a number and would give NaN event counts), an efficiency outside [0, 1],
    a negative energy or an energy given twice.
    """
    rows, lines = [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f.strip() for f in text.split(",")]
        try:
            values = [float(f) for f in fields[:2]]
        except ValueError:
            values = []
        if len(values) < 2 or not all(np.isfinite(values)):
            raise ValueError(f"{path}, line {number}: expected two finite numbers 'E_nr_keV, efficiency', got {text!r}")
        if values[0] < 0 or not 0 <= values[1] <= 1:
            raise ValueError(
                f"{path}, line {number}: energy must be >= 0 and efficiency in [0, 1], got {values[0]}, {values[1]}"
            )
        rows.append(values)
        lines.append(number)
    if len(rows) < 2:
        raise ValueError(f"{path}: expected at least two rows of 'E_nr_keV, efficiency'")
    data = np.array(rows)
    order = np.argsort(data[:, 0], kind="stable")
    e, eff = data[order, 0], data[order, 1]
    same = np.nonzero(np.diff(e) == 0)[0]
    if same.size:
        a, b = sorted((lines[order[same[0]]], lines[order[same[0] + 1]]))
        raise ValueError(f"{path}, lines {a} and {b}: energy {e[same[0]]} keV is given twice")
    return e, eff


def _check_grid(x: np.ndarray, name: str) -> np.ndarray:
    """A 1-d grid of finite, strictly increasing values (trapezoids on a shuffled grid give
    negative areas: a shuffled energy grid gave -181 SM events instead of 10.6)."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"{name} must be a 1-d grid of at least two points, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if np.any(np.diff(a) <= 0):
        i = int(np.nonzero(np.diff(a) <= 0)[0][0])
        raise ValueError(f"{name} must increase strictly, but point {i + 1} ({a[i + 1]}) follows {a[i]}")
    return a


@dataclass(frozen=True)
class Efficiency:
    """Detection efficiency versus nuclear-recoil energy [keV_nr].

    ``kind``:

    - ``table``: linear interpolation of (``energies_keV``, ``values``); zero below the first
      point, the last value above the last point (the digitised curves stop on their plateau);
    - ``erf``: ``plateau`` * (1 + erf((E - center) / (sqrt(2) width))) / 2;
    - ``step``: 1 above ``threshold_keV``.

    The result is multiplied by ``scale`` and set to zero outside ``roi_keV``.
    """

    kind: str
    roi_keV: tuple[float, float]
    scale: float = 1.0
    energies_keV: np.ndarray | None = None
    values: np.ndarray | None = None
    plateau: float = 1.0
    center_keV: float = 0.0
    width_keV: float = 0.0
    threshold_keV: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("table", "erf", "step"):
            raise ValueError(f"efficiency kind must be 'table', 'erf' or 'step', got {self.kind!r}")
        numbers = {
            "roi_keV": self.roi_keV,
            "scale": self.scale,
            "plateau": self.plateau,
            "center_keV": self.center_keV,
            "width_keV": self.width_keV,
            "threshold_keV": self.threshold_keV,
        }
        for name, value in numbers.items():
            if not np.all(np.isfinite(np.asarray(value, dtype=float))):
                raise ValueError(f"efficiency {name} must be finite, got {value}")
        lo, hi = self.roi_keV
        if not 0 <= lo < hi:
            raise ValueError(f"efficiency ROI must satisfy 0 <= min < max, got {self.roi_keV}")
        if not self.scale > 0:
            raise ValueError(f"efficiency scale must be positive, got {self.scale}")
        if self.kind == "table":
            if self.energies_keV is None or self.values is None:
                raise ValueError("a table efficiency needs energies and values")
            e = _check_grid(self.energies_keV, "efficiency table energies_keV")
            v = np.asarray(self.values, dtype=float)
            if v.shape != e.shape or not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v > 1):
                raise ValueError("efficiency table values must be finite, in [0, 1], one per energy")
        if self.kind == "erf" and not self.width_keV > 0:
            raise ValueError(f"erf efficiency width must be positive, got {self.width_keV}")
        if not 0 < self.plateau <= 1:
            raise ValueError(f"efficiency plateau must lie in (0, 1], got {self.plateau}")
        if self.peak > 1.0 + 1e-12:
            raise ValueError(
                f"efficiency scale {self.scale:g} gives a peak efficiency of {self.peak:.4g} > 1 "
                f"(at most {self.scale / self.peak:.4g} is allowed)"
            )
        if not self.peak > 0:
            raise ValueError(f"efficiency is zero everywhere in the ROI {self.roi_keV} keV_nr (threshold above it?)")

    @property
    def peak(self) -> float:
        """Largest efficiency inside the ROI (scale included)."""
        lo, hi = self.roi_keV
        if self.kind == "table":
            e = np.asarray(self.energies_keV, dtype=float)
            points = np.concatenate([[lo, hi], e[(e >= lo) & (e <= hi)]])
        elif self.kind == "erf":
            points = np.array([hi])  # erf rises monotonically
        else:
            points = np.array([hi])
        return float(np.max(self(points)))

    def __call__(self, e_nr_keV: np.ndarray) -> np.ndarray:
        e = np.asarray(e_nr_keV, dtype=float)
        if self.kind == "table":
            eff = np.interp(e, self.energies_keV, self.values, left=0.0, right=self.values[-1])
        elif self.kind == "erf":
            eff = self.plateau * 0.5 * (1.0 + erf((e - self.center_keV) / (np.sqrt(2.0) * self.width_keV)))
        else:
            eff = (e >= self.threshold_keV).astype(float)
        inside = (e >= self.roi_keV[0]) & (e <= self.roi_keV[1])
        return np.where(inside, self.scale * eff, 0.0)

    def rescaled(self, factor: float) -> Efficiency:
        return replace(self, scale=self.scale * factor)


def fold(e_keV: np.ndarray, rate: np.ndarray, efficiency: np.ndarray, exposure_t_yr: float) -> np.ndarray:
    """Expected events: exposure * integral dE eff(E) dR/dE (trapezoid on the grid; last axis).

    The energy grid must increase strictly and the exposure be finite and positive (ValueError).
    """
    e = _check_grid(e_keV, "energy grid e_keV")
    if not (np.isfinite(exposure_t_yr) and exposure_t_yr > 0):
        raise ValueError(f"exposure_t_yr must be finite and positive, got {exposure_t_yr}")
    return exposure_t_yr * np.trapezoid(np.asarray(rate) * efficiency, e, axis=-1)


@dataclass(frozen=True)
class Experiment:
    """A counting experiment.

    Parameters
    ----------
    name, label
        Key (file names) and display name.
    exposure_t_yr
        Exposure [tonne-years].
    observed, background
        Observed events and expected background (which includes the SM CEvNS expectation, as in
        the paper's Table 1). ``None`` for a projection: both equal the SM expectation.
    background_sigma
        Gaussian uncertainty on the background (profiled when > 0; the paper uses 0).
    efficiency
        NR efficiency (keV_nr).
    electron_recoils
        Whether electron recoils survive the selection (S2-only, projections), so the
        leptophilic model applies.
    ee_quenching
        Conversion keV_nr -> keV_ee for electron-recoil searches.
    sm_events_target
        If set, the efficiency is rescaled so the SM CEvNS expectation equals it (:meth:`normalised`).
    background_includes_sm
        False when ``background`` excludes the SM CEvNS expectation (the collaborations' own
        numbers): :meth:`counts` then adds it.
    """

    name: str
    label: str
    exposure_t_yr: float
    observed: float | None
    background: float | None
    efficiency: Efficiency
    background_sigma: float = 0.0
    electron_recoils: bool = False
    ee_quenching: Quenching = field(default_factory=lambda: Quenching("lindhard"))
    sm_events_target: float | None = None
    background_includes_sm: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.exposure_t_yr) and self.exposure_t_yr > 0):
            raise ValueError(f"experiment {self.name!r}: exposure must be finite and positive ({self.exposure_t_yr!r})")
        if self.sm_events_target is not None and not (np.isfinite(self.sm_events_target) and self.sm_events_target > 0):
            raise ValueError(f"experiment {self.name!r}: sm_events must be finite and positive")
        if (self.observed is None) != (self.background is None):
            raise ValueError(f"experiment {self.name!r}: give both observed and background, or neither (projection)")
        if self.background is not None and not self.background > 0:
            raise ValueError(f"experiment {self.name!r}: background must be positive")
        if self.observed is not None and self.observed < 0:
            raise ValueError(f"experiment {self.name!r}: observed must be >= 0")

    @property
    def is_projection(self) -> bool:
        return self.observed is None

    def efficiency_nr(self, e_nr_keV: np.ndarray) -> np.ndarray:
        return self.efficiency(e_nr_keV)

    def efficiency_ee(self, e_ee_keV: np.ndarray) -> np.ndarray:
        """Efficiency for electron recoils of energy E_ee: eps_nr(E_nr(E_ee)) (paper section 3)."""
        return self.efficiency(self.ee_quenching.to_nr(e_ee_keV))

    def events(self, e_keV: np.ndarray, rate: np.ndarray, energy: str = "nr") -> np.ndarray:
        """Expected events from dR/dE [1/(t yr keV)] on the grid ``e_keV`` (``nr`` or ``ee``)."""
        eff = self.efficiency_nr(e_keV) if energy == "nr" else self.efficiency_ee(e_keV)
        return fold(e_keV, rate, eff, self.exposure_t_yr)

    def counts(self, sm_events: float) -> tuple[float, float]:
        """(observed, background) for the likelihood: a projection uses the SM expectation for both,
        and a background that excludes the SM CEvNS expectation gets it added."""
        if self.is_projection:
            return float(sm_events), float(sm_events)
        extra = 0.0 if self.background_includes_sm else float(sm_events)
        return float(self.observed), float(self.background) + extra

    def normalised(self, e_nr_keV: np.ndarray, sm_rate_nr: np.ndarray) -> Experiment:
        """Rescale the efficiency so the SM CEvNS expectation equals ``sm_events_target``."""
        if self.sm_events_target is None:
            return self
        current = float(self.events(e_nr_keV, sm_rate_nr))
        key = f"config key 'experiments.{self.name}.efficiency.sm_events'"
        if not current > 0:
            raise ValueError(f"{key}: zero SM events in the ROI, cannot normalise the efficiency")
        factor = self.sm_events_target / current
        peak = self.efficiency.peak * factor
        if peak > 1.0 + 1e-12:
            raise ValueError(
                f"{key}: {self.sm_events_target:g} SM events need a peak efficiency of {peak:.3g} > 1 "
                f"(the efficiency as given yields {current:.4g}); at most "
                f"{self.sm_events_target / peak:.4g} events are reachable"
            )
        return replace(self, efficiency=self.efficiency.rescaled(factor))


def efficiency_from_config(cfg: Mapping[str, Any], tables: Mapping[str, str | Path]) -> Efficiency:
    """Efficiency from an ``experiments.<name>.efficiency`` section; ``tables`` maps input names to files."""
    kind = cfg["kind"]
    common = {"roi_keV": tuple(cfg["roi_keV"]), "scale": float(cfg.get("scale", 1.0))}
    if kind == "table":
        e, values = read_efficiency_table(tables[cfg["input"]])
        return Efficiency("table", energies_keV=e, values=values, **common)
    if kind == "erf":
        return Efficiency(
            "erf",
            plateau=float(cfg.get("plateau", 1.0)),
            center_keV=float(cfg["center_keV"]),
            width_keV=float(cfg["width_keV"]),
            **common,
        )
    return Efficiency("step", threshold_keV=float(cfg["threshold_keV"]), **common)


def experiment_from_config(
    name: str,
    cfg: Mapping[str, Any],
    tables: Mapping[str, str | Path],
    ee_quenching: Mapping[str, Any] | None = None,
) -> Experiment:
    """Build an experiment from its config section (counts taken from ``count_sets[counts]``)."""
    counts = cfg["count_sets"][cfg.get("counts", "paper")]
    try:
        efficiency = efficiency_from_config(cfg["efficiency"], tables)
    except ValueError as exc:
        raise ValueError(f"config key 'experiments.{name}.efficiency': {exc}") from None
    return Experiment(
        name=name,
        label=cfg.get("label", name),
        exposure_t_yr=float(cfg["exposure_t_yr"]),
        observed=None if counts.get("observed") is None else float(counts["observed"]),
        background=None if counts.get("background") is None else float(counts["background"]),
        background_sigma=float(counts.get("background_sigma", 0.0)),
        efficiency=efficiency,
        electron_recoils=bool(cfg.get("electron_recoils", False)),
        ee_quenching=quenching_from_config(ee_quenching or {"model": "lindhard"}),
        sm_events_target=cfg["efficiency"].get("sm_events"),
        background_includes_sm=bool(counts.get("background_includes_sm", True)),
    )
