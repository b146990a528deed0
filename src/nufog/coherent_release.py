"""COHERENT CsI[Na] 2021 release readers (arXiv:2110.07730 ancillary files, SOURCES.md section 3).

:func:`load_release` reads every file of ``data/coherent_csi2021/`` into an immutable
:class:`CsIRelease`; the binned model (:mod:`nufog.coherent_model`) is built from it, with the
background templates of :func:`background_templates`.

Backgrounds:

- steady state (SS): the anti-coincident (AC) events, same window length. Default ``"factorised"``:
  the AC PE histogram times the eps_T-weighted time-bin widths (the SS rate is constant in time), which
  avoids the Poisson noise of a 2-d histogram with ~1 AC event per fine time bin; ``"binned"`` uses
  the AC 2-d histogram directly. sigma_SS = 1/sqrt(N_AC in the ROI) = 2.8 %.
- BRN and NIN: factorised PE x time shapes from ``brnPE/ninPE`` (PDFs normalised to 1 below 60 PE)
  and ``brnTrec/ninTrec`` (10-ns histograms, no timing efficiency in them), times eps_T. Their
  normalisations ``n_brn`` = 18.4 and ``n_nin`` = 5.6 are the expected events with PE < 60 and
  0 <= t < 6 us *before* the timing efficiency; these third-party numbers are unverified
  (reference_constants.yaml) but are what the release's own normalisations imply:
  sum(Trec in the window) / sum(PE pdf over all PE) = 18.45 and 5.62 (tested). After eps_T they
  contribute 18.3 and 5.2 events. sigma_BRN = 25 %, sigma_NIN = 35 %.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nufog.coherent_response import TimingEfficiency, rebin_matrix
from nufog.sns import HistogramProfile

__all__ = [
    "read_sns_flux_root",
    "profiles_from_root",
    "RELEASE_SUBDIR",
    "read_events",
    "read_pdf_table",
    "read_coefficients",
    "CsIRelease",
    "load_release",
    "histogram2d",
    "background_templates",
]

RELEASE_SUBDIR = "coherent_csi2021"


def _load_table(path: str | Path, n_cols: int, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no file {path}")
    rows = []
    for ln in path.read_text().splitlines():
        ln = ln.split("#", 1)[0].strip()
        if ln:
            rows.append([float(v) for v in ln.replace(",", " ").split()])
    if not rows or any(len(r) != n_cols for r in rows):
        raise ValueError(f"{path}: expected rows of {n_cols} numbers ({what})")
    return np.array(rows)


def read_events(path: str | Path) -> np.ndarray:
    """Unbinned events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt``: array (n, 2) of (PE, t_us)."""
    return _load_table(path, 2, "event list (PE, t [us])")


def read_pdf_table(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Two-column PDF table (``brnPE.txt``: PE bin centre, ``brnTrec.txt``: t bin centre [us])."""
    t = _load_table(path, 2, "PDF table (bin centre, value)")
    if np.any(t[:, 1] < 0):
        raise ValueError(f"{path}: negative PDF values")
    return t[:, 0], t[:, 1]


def read_coefficients(path: str | Path) -> np.ndarray:
    """Coefficient rows (a b c d) of ``effCoefficients.txt`` / ``scintRespCoefficients.txt``,
    nominal first, in file order: array (n_rows, 4)."""
    return _load_table(path, 4, "coefficient rows a b c d")


@dataclass(frozen=True, eq=False)
class CsIRelease:
    """The ancillary files of the 2021 CsI release.

    Attributes
    ----------
    coincident, anticoincident
        Events (n, 2): PE, t [us].
    brn_pe, nin_pe, brn_t, nin_t
        (bin centres, values) of the BRN/NIN PE PDFs (1-PE bins) and time PDFs (10-ns bins, us).
    eff_coefficients
        (3, 4): nominal, +1 sigma, -1 sigma rows of eps_E(x) = a/(1+exp(-b(x-c)))+d.
    qf_coefficients
        (5, 4): nominal and systematic rows of E_ee[MeV] = a x + b x^2 + c x^3 + d x^4, x = E_nr [MeV].
    """

    coincident: np.ndarray
    anticoincident: np.ndarray
    brn_pe: tuple[np.ndarray, np.ndarray]
    nin_pe: tuple[np.ndarray, np.ndarray]
    brn_t: tuple[np.ndarray, np.ndarray]
    nin_t: tuple[np.ndarray, np.ndarray]
    eff_coefficients: np.ndarray
    qf_coefficients: np.ndarray


def _resolve_release_dir(data_dir: str | Path | None) -> Path:
    if data_dir is None:
        mirror = os.environ.get("NUFOG_DATA_MIRROR")
        if mirror is None:
            raise ValueError("no data directory: pass data_dir (the coherent_csi2021 folder) or set NUFOG_DATA_MIRROR")
        data_dir = Path(mirror) / RELEASE_SUBDIR
    data_dir = Path(data_dir)
    if not (data_dir / "dataBeamOnC.txt").is_file() and (data_dir / RELEASE_SUBDIR).is_dir():
        data_dir = data_dir / RELEASE_SUBDIR  # the mirror root was given
    return data_dir


def load_release(data_dir: str | Path | None = None) -> CsIRelease:
    """Read every file of the release from ``data_dir`` (or ``$NUFOG_DATA_MIRROR/coherent_csi2021``)."""
    d = _resolve_release_dir(data_dir)
    eff = read_coefficients(d / "effCoefficients.txt")
    qf = read_coefficients(d / "scintRespCoefficients.txt")
    if eff.shape[0] != 3:
        raise ValueError(f"{d / 'effCoefficients.txt'}: expected 3 rows (nominal, +1, -1 sigma)")
    return CsIRelease(
        coincident=read_events(d / "dataBeamOnC.txt"),
        anticoincident=read_events(d / "dataBeamOnAC.txt"),
        brn_pe=read_pdf_table(d / "brnPE.txt"),
        nin_pe=read_pdf_table(d / "ninPE.txt"),
        brn_t=read_pdf_table(d / "brnTrec.txt"),
        nin_t=read_pdf_table(d / "ninTrec.txt"),
        eff_coefficients=eff,
        qf_coefficients=qf,
    )


def histogram2d(events: np.ndarray, pe_edges: np.ndarray, t_edges: np.ndarray) -> np.ndarray:
    """Counts of (PE, t) events in the analysis bins, shape (n_pe, n_t)."""
    ev = np.asarray(events, dtype=float)
    if ev.ndim != 2 or ev.shape[1] != 2:
        raise ValueError("events must be an (n, 2) array of (PE, t_us)")
    return np.histogram2d(ev[:, 0], ev[:, 1], bins=[pe_edges, t_edges])[0]


def background_templates(
    rel: CsIRelease,
    pe_edges: np.ndarray,
    t_edges: np.ndarray,
    eps_t: TimingEfficiency,
    n_brn: float,
    n_nin: float,
    ss_model: str = "factorised",
) -> tuple[np.ndarray, np.ndarray, dict[str, HistogramProfile]]:
    """Steady-state counts (n_pe, n_t), BRN/NIN PE factors (2, n_pe) (events per unit time-profile
    integral) and the BRN/NIN time profiles (module docstring)."""
    eps_bins = eps_t.bin_integrals(t_edges)
    ac = histogram2d(rel.anticoincident, pe_edges, t_edges)
    ss = ac if ss_model == "binned" else ac.sum(axis=1)[:, None] * (eps_bins / eps_bins.sum())[None, :]
    profiles, pe_rows = {}, []
    for name, pe_tab, t_tab, n_exp in (("brn", rel.brn_pe, rel.brn_t, n_brn), ("nin", rel.nin_pe, rel.nin_t, n_nin)):
        centres, pdf = pe_tab
        w = np.diff(centres)
        pe_src = np.concatenate([centres - w[0] / 2, [centres[-1] + w[0] / 2]])
        pe_frac = rebin_matrix(pe_src, pe_edges) @ pdf  # the PDF is normalised to 1 below 60 PE
        prof = HistogramProfile.from_centres(*t_tab)
        # n_exp counts events in the time window before eps_T: divide by the window fraction
        pe_rows.append(pe_frac * n_exp / prof.fraction(t_edges[0], t_edges[-1]))
        profiles[name] = prof
    return ss, np.array(pe_rows), profiles


# --- the SNS flux file (optional ROOT reader) -----------------------------------------------------------
def read_sns_flux_root(path: str | Path) -> Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Read the release's ``snsFlux2D.root`` energy x time flux histograms (needs ``uproot``).

    Returns ``{name: (values, energy_edges, time_edges)}`` for every 2-d histogram in the file
    (``convolved_energy_time_of_nu_e`` ...). ``uproot`` is imported lazily so the package works
    without it.

    Raises
    ------
    ImportError
        If ``uproot`` is not installed.
    """
    try:
        import uproot  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError as exc:
        raise ImportError(
            "reading snsFlux2D.root needs the optional package 'uproot' (pip install uproot); "
            "without it use the analytic profiles of nufog.sns.arrival_time_profiles()"
        ) from exc
    out = {}
    with uproot.open(Path(path)) as f:
        for key, cls in f.classnames().items():
            if cls.startswith("TH2"):
                values, ex, ey = f[key].to_numpy()
                out[key.split(";")[0]] = (values, ex, ey)
    if not out:
        raise ValueError(f"{path}: no 2-d histograms found")
    return out


#: histogram names in the release's snsFlux2D.root, per timing group
ROOT_HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "prompt": ("convolved_energy_time_of_nu_mu",),
    "delayed": ("convolved_energy_time_of_nu_e", "convolved_energy_time_of_anti_nu_mu"),
}
_TIME_UNITS_US = {"ns": 1e-3, "us": 1.0}


def profiles_from_root(path: str | Path, time_unit: str = "ns") -> dict[str, HistogramProfile]:
    """Arrival-time profiles from the release's ``snsFlux2D.root`` (the optional route).

    Each flavour's energy x time histogram (x: energy, y: time in ``time_unit``) is projected on
    time; prompt = nu_mu, delayed = nu_e + anti-nu_mu. The energy spectra stay the analytic
    pion/muon decay-at-rest ones (the histograms' energy axes carry the same spectra).
    """
    if time_unit not in _TIME_UNITS_US:
        raise ValueError(f"time_unit must be one of {sorted(_TIME_UNITS_US)}, got {time_unit!r}")
    hists = read_sns_flux_root(path)
    out = {}
    for group, names in ROOT_HISTOGRAMS.items():
        missing = [n for n in names if n not in hists]
        if missing:
            raise ValueError(f"{path}: histograms {missing} not found (have {sorted(hists)})")
        edges = hists[names[0]][2]
        if any(not np.array_equal(hists[n][2], edges) for n in names):
            raise ValueError(f"{path}: the {group} histograms have different time binning")
        contents = sum(hists[n][0].sum(axis=0) for n in names)
        out[group] = HistogramProfile(edges * _TIME_UNITS_US[time_unit], contents)
    return out
