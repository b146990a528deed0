"""Closure of nufog's folding against the XENONnT 2026 releases (physics.md section 8).

- :func:`s2only_cevns_closure`: nufog's SM CEvNS spectrum folded through the S2-only response
  against the release's ``cevns`` background row, per SR and bin.
- :func:`s2only_wimp_closure`: the collaboration's WIMP spectrum (``data/signal/*.json``) folded
  through the response against its own ``template_XENONnT_sr*_wimp_si_6_tqy_0_1d.h5``.
- :func:`s2only_wimp_limit_inputs`: per WIMP mass the folded signal per bin (events at the
  reference cross section) and the published median sensitivity, for the lead's limit code.
- :func:`xenonnt_2026_b8_closure`: nufog's 8B CEvNS folded through the 4-D mono-template response,
  per SR, against the 2024 light-WIMP release's b8 templates (the 2026 release states no 8B
  expectation; SR2 has no 2024 counterpart).

Flux convention: the collaboration normalises 8B to SNO's NC flux, 5.25e6 cm^-2 s^-1 (the yaml's
3.81 % CEvNS rate uncertainty is SNO's), not B16-GS98's 5.46e6. Build the fluxes with
``solar.b8_flux_cm2_s: 5.25e6`` for these closures. The release's CEvNS row is 8B only (no hep):
pass ``components=("8B",)`` to compare like with like; nufog's SM sample includes hep.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nufog.cevns import RecoilKernel
from nufog.datasets import BinnedData
from nufog.nuclei import Target
from nufog.solar import SolarFluxes
from nufog.xenonnt import read_cdf_spectrum, read_template

__all__ = [
    "sm_cevns_rate",
    "s2only_cevns_closure",
    "s2only_wimp_closure",
    "s2only_wimp_limit_inputs",
    "xenonnt_2026_b8_closure",
    "WIMP_REFERENCE_XS_CM2",
]

#: cross section of the collaboration's WIMP templates (ExampleAnalysis.ipynb: sigma_nucleon = 1e-45 cm^2)
WIMP_REFERENCE_XS_CM2 = 1e-45


def sm_cevns_rate(
    e_keV: np.ndarray, target: Target, fluxes: SolarFluxes, components: Sequence[str] | None = None, ff: str = "helm"
) -> np.ndarray:
    """nufog's SM CEvNS dR/dE [1/(t yr keV)] on ``e_keV``, summed over ``components`` (default: all)."""
    names = list(components) if components is not None else list(fluxes.names)
    kernel = RecoilKernel.build(np.asarray(e_keV, float), target, [fluxes[n] for n in names], ff)
    return kernel.sm_rate()["total"]


def _sr_bins(data: BinnedData) -> tuple[list[str], list[int]]:
    srs, bins = [], []
    for label in data.bin_labels:
        sr, b = label.split("/")
        srs.append(sr)
        bins.append(int(re.search(r"(\d+)$", b).group(1)))
    return srs, bins


def s2only_cevns_closure(
    data: BinnedData,
    target: Target,
    fluxes: SolarFluxes,
    components: Sequence[str] | None = ("8B", "hep"),
    ff: str = "helm",
) -> pd.DataFrame:
    """Columns ``sr, bin, release, nufog, ratio`` (events per bin; ``sr = all`` rows: the SR totals).

    ``data`` is the S2-only data set (its response and ``meta['release_cevns_events']``).
    """
    nufog = data.response.fold(sm_cevns_rate(data.response.e_keV, target, fluxes, components, ff))
    release = np.asarray(data.meta["release_cevns_events"], float)
    srs, bins = _sr_bins(data)
    df = pd.DataFrame({"sr": srs, "bin": bins, "release": release, "nufog": nufog})
    totals = df.groupby("sr", sort=False)[["release", "nufog"]].sum().reset_index()
    totals["bin"] = -1
    grand = pd.DataFrame({"sr": ["all"], "bin": [-1], "release": [release.sum()], "nufog": [nufog.sum()]})
    out = pd.concat([df, totals, grand], ignore_index=True)
    out["ratio"] = out["nufog"] / out["release"]
    return out[["sr", "bin", "release", "nufog", "ratio"]]


def _wimp_spectrum(root: Path, mass: float) -> Path:
    label = f"{mass:g}"
    return root / "data" / "signal" / f"wimp_si_spectrum_{label}.json"


def s2only_wimp_closure(root: str | Path, data: BinnedData, mass_GeV: float = 6.0) -> pd.DataFrame:
    """Columns ``sr, bin, release, nufog, ratio``: folded WIMP spectrum vs the release's template (events)."""
    root = Path(root)
    rate = read_cdf_spectrum(_wimp_spectrum(root, mass_GeV), data.response.e_keV)
    nufog = data.response.fold(rate)
    srs, bins = _sr_bins(data)
    exposure = data.meta["exposure_t_yr"]
    release = []
    for sr in dict.fromkeys(srs):
        path = root / "data" / "templates" / f"template_XENONnT_{sr}_wimp_si_{mass_GeV:g}_tqy_0_1d.h5"
        release.append(exposure[sr] * read_template(path)[1])
    df = pd.DataFrame({"sr": srs, "bin": bins, "release": np.concatenate(release), "nufog": nufog})
    df["ratio"] = df["nufog"] / df["release"]
    return df


def s2only_wimp_limit_inputs(
    root: str | Path, data: BinnedData, model: str = "wimp_si"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per WIMP mass: (signal, sensitivity).

    ``signal``: columns ``mass_GeV, sr, bin, events`` -- the collaboration's spectrum folded through
    the response, events per bin at the reference cross section ``WIMP_REFERENCE_XS_CM2``.
    ``sensitivity``: the published ``limits/XENONnT_SR012_s2_only_{model}_sensitivity.csv``
    (columns ``mass_GeV, median, ul, 2ul, dl, 2dl`` in cm^2). The lead's median expected limit is
    sigma_ref x (the signal-strength limit from the Asimov data set).
    """
    root = Path(root)
    srs, bins = _sr_bins(data)
    frames = []
    for path in sorted((root / "data" / "signal").glob("wimp_si_spectrum_*.json")):
        mass = float(path.stem.rsplit("_", 1)[1])
        events = data.response.fold(read_cdf_spectrum(path, data.response.e_keV))
        frames.append(pd.DataFrame({"mass_GeV": mass, "sr": srs, "bin": bins, "events": events}))
    signal = pd.concat(frames, ignore_index=True).sort_values(["mass_GeV", "sr", "bin"], ignore_index=True)
    sens = pd.read_csv(root / "limits" / f"XENONnT_SR012_s2_only_{model}_sensitivity.csv")
    sens = sens.rename(columns={"wimp_mass": "mass_GeV"})
    sens = sens[["mass_GeV", "median", "ul", "2ul", "dl", "2dl"]].sort_values("mass_GeV", ignore_index=True)
    return signal, sens


def xenonnt_2026_b8_closure(
    data: BinnedData,
    target: Target,
    fluxes: SolarFluxes,
    lightwimp_root: str | Path | None = None,
    components: Sequence[str] | None = ("8B",),
    ff: str = "helm",
) -> pd.DataFrame:
    """Per SR of the 4-D data set: ``sr, exposure_t_yr, nufog, release_2024, ratio`` (events).

    ``release_2024``: the 2024 light-WIMP b8 template x the 2024 livetime (SR0, SR1; NaN for SR2).
    It belongs to the 2024 analysis (same binning for SR0 but older cuts and yields), so it is a
    reference, not an expectation of the 2026 templates.
    """
    events = data.response.fold(sm_cevns_rate(data.response.e_keV, target, fluxes, components, ff))
    srs, _ = _sr_bins(data)
    exposure: Mapping[str, Any] = data.meta["exposure_t_yr"]
    lw = {"sr0": 1.174398, "sr1": 2.342593}
    rows = []
    for sr in dict.fromkeys(srs):
        mask = np.array(srs) == sr
        ref = np.nan
        if lightwimp_root is not None and sr in lw:
            path = Path(lightwimp_root) / "data" / "b8" / f"template_XENONnT_{sr}_b8_cevns_tly_0.0_tqy_0.0.h5"
            ref = lw[sr] * read_template(path)[1].sum()
        nufog = events[mask].sum()
        rows.append(
            {
                "sr": sr,
                "exposure_t_yr": exposure[sr],
                "nufog": nufog,
                "nufog_per_t_yr": nufog / exposure[sr],
                "release_2024": ref,
                "release_2024_per_t_yr": ref / lw[sr] if sr in lw else np.nan,
                "ratio": nufog / exposure[sr] / (ref / lw[sr]) if sr in lw and np.isfinite(ref) else np.nan,
            }
        )
    return pd.DataFrame(rows)
