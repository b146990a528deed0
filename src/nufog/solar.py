"""Solar neutrino fluxes (B16 standard solar model) and the MSW-LMA survival probability.

A flux is a list of :class:`FluxComponent` objects, each either a continuum (a normalised shape on
an energy grid times a total flux) or a mono-energetic line (7Be, pep). Every rate in the package
needs integrals of the form

    M_p(E_min) = integral_{E_min}^{E_max} dE_nu  dPhi/dE_nu(E_nu) w(E_nu) E_nu^(-p)

because the cross sections are polynomials in 1/E_nu (CEvNS: p = 0, 2; nu-e: p = 0, 1, 2; light
mediators: p = 2). :meth:`FluxComponent.tail_moments` returns them for a whole array of E_min at
once from a cumulative integral tabulated once, so no rate needs a per-point quadrature.

Units: energies in MeV, fluxes in cm^-2 s^-1 (spectra in cm^-2 s^-1 MeV^-1).
References: Vinyoles et al., ApJ 835 (2017) 202 (B16); Bahcall et al., PRC 54 (1996) 411 (8B);
Winter et al., PRC 73 (2006) 025503 (8B); physics.md section 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nufog import units as u

__all__ = [
    "FluxComponent",
    "SolarFluxes",
    "OscillationParameters",
    "load_solar_fluxes",
    "read_b16_totals",
    "read_production_zones",
    "survival_probability_msw",
    "FLUX_ROWS_B16",
]

#: Row order and units of ``fluxes_b16.dat`` (Vinyoles et al. 2017, Table 6) [cm^-2 s^-1].
FLUX_ROWS_B16: dict[str, float] = {
    "pp": 1e10,
    "pep": 1e8,
    "hep": 1e3,
    "7Be": 1e9,
    "8B": 1e6,
    "13N": 1e8,
    "15O": 1e8,
    "17F": 1e6,
}

#: Column of ``nudistr_b16_gs98.dat`` holding each production-zone distribution (0-based).
_PRODUCTION_COLUMNS: dict[str, int] = {
    name: 4 + i for i, name in enumerate(["pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F"])
}

#: 7Be lines: energy [MeV] and branching fraction (physics.md section 1; NNDC 10.44 %).
BE7_LINES: tuple[tuple[str, float, float], ...] = (
    ("7Be_862", 0.8613, 0.8956),
    ("7Be_384", 0.3843, 0.1044),
)
PEP_LINE_MEV: float = 1.442

_N_FINE = 4001  # points of the fine grid on which continuum moments are tabulated


@dataclass(frozen=True, eq=False)
class FluxComponent:
    """One solar neutrino flux component.

    Parameters
    ----------
    name
        Component label (``"pp"``, ``"7Be_862"``, ``"8B"``, ...), used as a column name.
    flux_cm2_s
        Total flux at Earth [cm^-2 s^-1] (before oscillations).
    energy_MeV
        Energy grid of the shape, or a single energy for a line.
    shape_per_MeV
        Normalised spectral shape [MeV^-1] on ``energy_MeV``; ``None`` for a line.
    production
        Key of the production-zone distribution (``"pp"``, ``"7Be"``, ...) used to average P_ee.

    Examples
    --------
    >>> line = FluxComponent("pep", 1.44e8, np.array([1.442]), None, "pep")
    >>> float(line.tail_moments(np.array([1.0]), powers=(0,))[0, 0])
    144000000.0
    """

    name: str
    flux_cm2_s: float
    energy_MeV: np.ndarray
    shape_per_MeV: np.ndarray | None
    production: str
    _fine: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not np.isfinite(self.flux_cm2_s) or self.flux_cm2_s < 0:
            raise ValueError(f"flux of {self.name!r} must be finite and >= 0, got {self.flux_cm2_s}")
        e = np.atleast_1d(np.asarray(self.energy_MeV, dtype=float))
        object.__setattr__(self, "energy_MeV", e)
        if self.shape_per_MeV is None:
            if e.size != 1 or not e[0] > 0:
                raise ValueError(f"line {self.name!r} needs one positive energy, got {e}")
            return
        shape = np.asarray(self.shape_per_MeV, dtype=float)
        if shape.shape != e.shape or e.size < 2 or np.any(np.diff(e) <= 0) or np.any(shape < 0):
            raise ValueError(f"continuum {self.name!r}: need increasing energies and shape >= 0")
        # Fine grid with the shape interpolated linearly and renormalised to exactly 1, so the
        # component integrates to its SSM total whatever the rounding of the tabulation.
        fine_e = np.linspace(e[0], e[-1], _N_FINE)
        fine_s = np.interp(fine_e, e, shape)
        fine_s /= np.trapezoid(fine_s, fine_e)
        object.__setattr__(self, "shape_per_MeV", shape / np.trapezoid(shape, e))
        object.__setattr__(self, "_fine", (fine_e, fine_s))

    @property
    def is_line(self) -> bool:
        """True for a mono-energetic line."""
        return self.shape_per_MeV is None

    @property
    def endpoint_MeV(self) -> float:
        """Largest neutrino energy of the component [MeV]."""
        return float(self.energy_MeV[-1])

    def spectrum(self, energy_MeV: np.ndarray) -> np.ndarray:
        """dPhi/dE_nu [cm^-2 s^-1 MeV^-1] of a continuum (zero for a line)."""
        energy_MeV = np.asarray(energy_MeV, dtype=float)
        if self.is_line:
            return np.zeros_like(energy_MeV)
        fine_e, fine_s = self._fine
        return self.flux_cm2_s * np.interp(energy_MeV, fine_e, fine_s, left=0.0, right=0.0)

    def tail_moments(
        self,
        e_min_MeV: np.ndarray,
        powers: Sequence[int] = (0, 1, 2),
        weight: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """Flux moments above a threshold: integral_{E_min} dE Phi(E) w(E) E^-p.

        Parameters
        ----------
        e_min_MeV
            Minimum neutrino energies [MeV], any shape.
        powers
            Exponents p of 1/E_nu.
        weight
            Optional w(E_nu), e.g. a survival probability; must accept an array of energies.

        Returns
        -------
        ndarray of shape ``(len(powers),) + e_min_MeV.shape`` in cm^-2 s^-1 MeV^-p.
        """
        return self._tail_moments(e_min_MeV, powers, weight, split=False)[0]

    def split_tail_moments(
        self,
        e_min_MeV: np.ndarray,
        powers: Sequence[int] = (0, 1, 2),
        weight: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The moments of :meth:`tail_moments` with the weight w and with 1 - w (for a survival
        probability: the nu_e and the nu_mu + nu_tau parts), evaluating w once (bit for bit the two
        :meth:`tail_moments` calls with w and with 1 - w). Without a weight the second is zero."""
        first, second = self._tail_moments(e_min_MeV, powers, weight, split=True)
        return first, second

    def _tail_moments(self, e_min_MeV, powers, weight, split: bool) -> list[np.ndarray]:
        """[moments with w] or, with ``split``, [moments with w, moments with 1 - w]."""
        e_min = np.asarray(e_min_MeV, dtype=float)
        shape = (len(powers),) + e_min.shape
        if self.is_line:
            e0 = self.energy_MeV[0]
            w0 = 1.0 if weight is None else float(np.asarray(weight(np.array([e0])))[0])
            above = e_min <= e0
            out = []
            for w in (w0, 1.0 - w0)[: 2 if split else 1]:
                part = np.empty(shape)
                for k, p in enumerate(powers):
                    part[k] = np.where(above, self.flux_cm2_s * w * e0 ** (-p), 0.0)
                out.append(part)
            return out
        fine_e, fine_s = self._fine
        w = np.ones_like(fine_e) if weight is None else np.asarray(weight(fine_e), dtype=float)
        # The beta spectra vanish like E^2 at E = 0, so Phi E^-p stays finite; use the first
        # positive energy there instead of dividing by zero.
        e_safe = np.where(fine_e > 0, fine_e, fine_e[fine_e > 0][0])
        out = []
        for ws in (w, 1.0 - w)[: 2 if split else 1]:
            part = np.empty(shape)
            for k, p in enumerate(powers):
                f = self.flux_cm2_s * fine_s * ws * e_safe ** (-p)
                # cumulative integral from the top: C(E) = integral_E^{E_max} f
                seg = 0.5 * (f[1:] + f[:-1]) * np.diff(fine_e)
                cum_top = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
                part[k] = np.interp(e_min, fine_e, cum_top, left=cum_top[0], right=0.0)
            out.append(part)
        return out

    def total(self) -> float:
        """Integrated flux [cm^-2 s^-1] (equals ``flux_cm2_s`` by construction)."""
        return float(self.tail_moments(np.array([0.0]), powers=(0,))[0, 0])


# --- MSW-LMA survival probability ---------------------------------------------------------------


@dataclass(frozen=True)
class OscillationParameters:
    """Three-flavour parameters for solar P_ee (PDG 2024 defaults, physics.md section 1)."""

    sin2_theta12: float = 0.307
    sin2_theta13: float = 0.0219
    dm2_21_eV2: float = 7.53e-5

    def __post_init__(self) -> None:
        for name in ("sin2_theta12", "sin2_theta13"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {v}")
        if not self.dm2_21_eV2 > 0:
            raise ValueError(f"dm2_21_eV2 must be positive, got {self.dm2_21_eV2}")


def survival_probability_msw(
    energy_MeV: np.ndarray,
    electron_density_cm3: np.ndarray,
    osc: OscillationParameters = OscillationParameters(),
) -> np.ndarray:
    """Adiabatic MSW-LMA nu_e survival probability for production at electron density n_e.

        P_ee = c13^4 (1/2 + 1/2 cos 2theta12 cos 2theta12^m) + s13^4,
        cos 2theta12^m = (cos 2theta12 - beta) / sqrt((cos 2theta12 - beta)^2 + sin^2 2theta12),
        beta = 2 sqrt(2) G_F c13^2 n_e E / Delta m^2_21.

    Broadcasts ``energy_MeV`` against ``electron_density_cm3`` [cm^-3].

    >>> p = survival_probability_msw(np.array([1e-3, 15.0]), np.array(6e25))
    >>> bool(0.54 < p[0] < 0.57 and 0.29 < p[1] < 0.33)
    True
    """
    c13sq = 1.0 - osc.sin2_theta13
    cos2 = 1.0 - 2.0 * osc.sin2_theta12
    sin2_2 = 1.0 - cos2**2
    # matter potential sqrt(2) G_F n_e [MeV]: G_F [MeV^-2] n_e [cm^-3] (hbar c)^3 [MeV^3 cm^3]
    v_cc = np.sqrt(2.0) * u.G_F * np.asarray(electron_density_cm3) * u.HBARC_MEV_CM**3
    dm2 = osc.dm2_21_eV2 * u.eV**2
    beta = 2.0 * c13sq * v_cc * np.asarray(energy_MeV) / dm2
    cos2m = (cos2 - beta) / np.sqrt((cos2 - beta) ** 2 + sin2_2)
    return c13sq**2 * (0.5 + 0.5 * cos2 * cos2m) + osc.sin2_theta13**2


@dataclass(frozen=True)
class ProductionZones:
    """Electron density and production-zone weights versus solar radius (B16-GS98)."""

    electron_density_cm3: np.ndarray
    weights: Mapping[str, np.ndarray]  # per production key, normalised to sum 1


def read_production_zones(path: str | Path) -> ProductionZones:
    """Read ``nudistr_b16_gs98.dat``: log10 n_e [cm^-3 / N_A] and per-flux production fractions."""
    table = np.loadtxt(path, comments="#")
    if table.ndim != 2 or table.shape[1] < 12:
        raise ValueError(f"{path}: expected 12 columns (B16 nudistr format), got {table.shape}")
    n_e = 10.0 ** table[:, 2] * u.AVOGADRO
    weights = {}
    for key, col in _PRODUCTION_COLUMNS.items():
        w = np.clip(table[:, col], 0.0, None)
        weights[key] = w / w.sum()
    return ProductionZones(n_e, weights)


# --- assembling a solar model --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SolarFluxes:
    """All solar components with the survival probability averaged over each production zone."""

    components: tuple[FluxComponent, ...]
    zones: ProductionZones | None = None
    osc: OscillationParameters = OscillationParameters()

    def __iter__(self):
        return iter(self.components)

    def __len__(self) -> int:
        return len(self.components)

    def __getitem__(self, name: str) -> FluxComponent:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no flux component {name!r}; have {[c.name for c in self.components]}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    def survival_probability(self, component: FluxComponent) -> Callable[[np.ndarray], np.ndarray]:
        """P_ee(E) for the component, averaged over its production region (MSW-LMA, adiabatic)."""
        if self.zones is None:
            raise ValueError("survival probability needs the production-zone file (nudistr_b16)")
        w = self.zones.weights[component.production]
        n_e = self.zones.electron_density_cm3
        keep = w > 1e-12 * w.max()  # zones that produce nothing do not contribute
        w, n_e = w[keep] / w[keep].sum(), n_e[keep]

        def pee(energy_MeV: np.ndarray) -> np.ndarray:
            e = np.asarray(energy_MeV, dtype=float)
            p = survival_probability_msw(e[..., None], n_e, self.osc)
            return p @ w

        return pee


def read_b16_totals(path: str | Path, model: str = "GS98") -> dict[str, float]:
    """Total fluxes [cm^-2 s^-1] of the B16 SSM from ``fluxes_b16.dat`` (GS98 or AGSS09met)."""
    columns = {"GS98": 0, "AGSS09": 2, "AGSS09met": 2}
    if model not in columns:
        raise ValueError(f"solar.ssm must be one of {sorted(columns)}, got {model!r}")
    rows = [line.split() for line in Path(path).read_text().splitlines()]
    rows = [r for r in rows if r and not r[0].startswith("#")]
    if len(rows) != len(FLUX_ROWS_B16):
        raise ValueError(f"{path}: expected {len(FLUX_ROWS_B16)} flux rows, found {len(rows)}")
    col = columns[model]
    return {k: float(r[col]) * scale for (k, scale), r in zip(FLUX_ROWS_B16.items(), rows)}


def _read_shape(path: Path, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Read a two-or-more column spectrum (comma or blank separated), trimming zero padding."""
    text = Path(path).read_text(encoding="latin-1").replace(",", " ")
    rows = [r.split() for r in text.splitlines() if r.strip() and not r.lstrip().startswith("#")]
    data = np.array([[float(x) for x in r[:2]] for r in rows])
    e, s = data[:, 0], data[:, 1] / scale
    s = np.clip(s, 0.0, None)  # tabulation noise (e.g. -0.000) is not a negative flux
    last = np.nonzero(s)[0][-1]
    end = min(last + 2, len(e))  # keep one zero past the endpoint, drop the padding after it
    return e[:end], s[:end]


#: File name of each continuum shape inside the input directory, with its normalisation.
_SHAPE_FILES: dict[str, tuple[str, float]] = {
    "pp": ("pp_shape.csv", 1.0),
    "hep": ("hep_shape.csv", 1.0),
    "13N": ("n13_shape.csv", 1.0),
    "15O": ("o15_shape.csv", 1.0),
    "17F": ("f17_shape.csv", 1.0),
}
_B8_SHAPES: dict[str, tuple[str, float]] = {
    "bahcall1996": ("b8spectrum_bahcall1996_SolarNu.dat", 1.0),
    "winter2006": ("8B_shape_Winter_et_al.csv", 1000.0),
}


def load_solar_fluxes(
    files: Mapping[str, str | Path],
    ssm: str = "GS98",
    b8_shape: str = "bahcall1996",
    b8_flux_cm2_s: float | None = None,
    components: Sequence[str] | None = None,
    osc: OscillationParameters = OscillationParameters(),
    be7_shape: str = "line",
) -> SolarFluxes:
    """Build the solar flux model from the input files.

    Parameters
    ----------
    files
        Paths keyed by input name: ``fluxes_b16``, ``nudistr_b16``, ``pp``, ``hep``, ``13N``,
        ``15O``, ``17F``, ``8B_bahcall1996`` and/or ``8B_winter2006``.
    ssm
        ``"GS98"`` (default) or ``"AGSS09"`` normalisations. The production zones are B16-GS98 for both.
    b8_shape
        ``"bahcall1996"`` (default) or ``"winter2006"``.
    b8_flux_cm2_s
        Override of the 8B total (e.g. 5.25e6, SNO NC); ``None`` keeps the SSM value.
    components
        Subset of component names to keep (default: all nine).
    be7_shape
        ``"line"`` (default: delta lines at 0.8613 and 0.3843 MeV, enough for CEvNS and nu-e) or
        ``"broadened"`` (Bahcall 1994 thermally broadened shapes, inputs ``7Be_ground_shape`` and
        ``7Be_excited_shape``).
    """
    totals = read_b16_totals(files["fluxes_b16"], ssm)
    if b8_flux_cm2_s is not None:
        if not b8_flux_cm2_s > 0:
            raise ValueError(f"solar.b8_flux_cm2_s must be positive, got {b8_flux_cm2_s}")
        totals["8B"] = float(b8_flux_cm2_s)
    if b8_shape not in _B8_SHAPES:
        raise ValueError(f"solar.b8_shape must be one of {sorted(_B8_SHAPES)}, got {b8_shape!r}")
    comps: list[FluxComponent] = []
    for name in ("pp", "hep", "13N", "15O", "17F"):
        fname, scale = _SHAPE_FILES[name]
        e, s = _read_shape(_input(files, name, fname), scale)
        comps.append(FluxComponent(name, totals[name], e, s, name))
    fname, scale = _B8_SHAPES[b8_shape]
    e, s = _read_shape(_input(files, f"8B_{b8_shape}", fname), scale)
    comps.append(FluxComponent("8B", totals["8B"], e, s, "8B"))
    comps.append(FluxComponent("pep", totals["pep"], np.array([PEP_LINE_MEV]), None, "pep"))
    if be7_shape not in ("line", "broadened"):
        raise ValueError(f"solar.be7_shape must be 'line' or 'broadened', got {be7_shape!r}")
    for (name, energy, branching), shape_key in zip(BE7_LINES, ("7Be_ground_shape", "7Be_excited_shape")):
        if be7_shape == "line":
            comps.append(FluxComponent(name, totals["7Be"] * branching, np.array([energy]), None, "7Be"))
        else:
            e, s = _read_shape(_input(files, shape_key, f"be7{shape_key[4:-6]}_shape.csv"))
            comps.append(FluxComponent(name, totals["7Be"] * branching, e, s, "7Be"))
    order = ["pp", "pep", "7Be_384", "7Be_862", "13N", "15O", "17F", "8B", "hep"]
    comps.sort(key=lambda c: order.index(c.name))
    if components is not None:
        unknown = set(components) - set(order)
        if unknown:
            raise ValueError(f"unknown solar components {sorted(unknown)}; choose from {order}")
        comps = [c for c in comps if c.name in components]
    zones = read_production_zones(files["nudistr_b16"]) if "nudistr_b16" in files else None
    return SolarFluxes(tuple(comps), zones, osc)


def _input(files: Mapping[str, str | Path], key: str, default_name: str) -> Path:
    try:
        return Path(files[key])
    except KeyError:
        raise KeyError(f"solar input {key!r} ({default_name}) missing from the input list") from None
