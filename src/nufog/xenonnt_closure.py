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
- :func:`wimp_dataset` / :func:`s2only_wimp_sensitivity`: the collaboration's WIMP spectra as the
  single signal of nufog's likelihood of the S2-only data set, and the median expected (CLs) limit
  on the cross section against the published sensitivity.
- :func:`b8_flux_fit`: best-fit 8B flux of a data set (the SM 8B CEvNS normalisation free, its
  flux prior dropped) with the profile-likelihood interval.

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
from nufog.inference import LimitSettings, coupling_limits
from nufog.likelihood import Dataset, Model, Modifier, Signal
from nufog.nuclei import Target
from nufog.solar import SolarFluxes
from nufog.xenonnt import read_cdf_spectrum, read_template

__all__ = [
    "sm_cevns_rate",
    "s2only_cevns_closure",
    "s2only_wimp_closure",
    "s2only_wimp_limit_inputs",
    "xenonnt_2026_b8_closure",
    "wimp_dataset",
    "s2only_wimp_sensitivity",
    "b8_flux_fit",
    "WIMP_REFERENCE_XS_CM2",
    "SNO_B8_FLUX_CM2_S",
    "REFERENCES",
]

#: Citations of the releases (README and every closure output's metadata)
REFERENCES = {
    "xenonnt_s2only": "XENON Collaboration, Light Dark Matter Search with 7.8 Tonne-Year of Ionization-Only Data in "
    "XENONnT, arXiv:2601.11296 (2026); data release XENONnT/s2_only_data_release (MIT)",
    "xenonnt_2026": "XENON Collaboration, Probing the Solar 8B Neutrino Fog with XENONnT, arXiv:2604.06002 (2026); "
    "data release XENONnT/cevns_data_release, doi:10.5281/zenodo.20576156 (CC-BY-4.0)",
    "xenonnt_lightwimp_2024": "XENON Collaboration, PRL 134 (2025) 111802, arXiv:2409.17868; data release "
    "XENONnT/light_wimp_data_release (statistical model and 2024 b8 templates)",
}

#: the collaboration's 8B flux convention (SNO NC) [cm^-2 s^-1]
SNO_B8_FLUX_CM2_S = 5.25e6
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


def wimp_dataset(base: Dataset, data: BinnedData, signal_events: np.ndarray, masses_GeV: np.ndarray) -> Dataset:
    """``base`` (backgrounds and SM CEvNS of the data set, e.g. from its fold file) with one signal:
    the WIMP template per bin at the reference cross section (linear term; quadratic term 0), so that the
    coupling G is the cross section in units of the reference.

    ``signal_events`` (n_mass, n_E) are the WIMP dR/dE on the response nodes; the response's shape
    variations (t_qy, per-SR efficiencies) become shape modifiers of the signal and the data set's
    signal modifiers act on it as on the SM CEvNS (no 8B flux nuisance). The "masses" of the data set are
    the WIMP masses.
    """
    resp = data.response
    rates = np.atleast_2d(np.asarray(signal_events, float))

    def terms(variation: str | None = None, side: int = 0) -> np.ndarray:
        lin = resp.fold(rates, variation, side)
        return np.stack([lin, np.zeros_like(lin)])

    mods = list(data.signal_modifiers)
    mods += [Modifier(v, "shape", down=terms(v, 0), up=terms(v, 1)) for v in resp.variations]
    signal = Signal("wimp", terms(), tuple(mods))
    return Dataset(
        name=f"{base.name}/wimp",
        observed=base.observed,
        samples=base.samples,
        signals=(signal,),
        masses_MeV=np.asarray(masses_GeV, float),
        free=base.free,
    )


def s2only_wimp_sensitivity(
    root: str | Path, data: BinnedData, base: Dataset, settings: LimitSettings | None = None, model: str = "wimp_si"
) -> pd.DataFrame:
    """Columns ``mass_GeV, release_median, nufog_median, ratio`` (cm^2), plus nufog's +-1 sigma band.

    nufog's median: ``coupling_limits(wimp_dataset(...))["expected_median"]`` x the reference cross
    section (asymptotic CLs on the Asimov data set of the background-only fit; 90 % CL by default).
    """
    settings = settings or LimitSettings(cl=0.9, method="cls", reference="best_fit")
    root = Path(root)
    paths = sorted(
        (root / "data" / "signal").glob("wimp_si_spectrum_*.json"), key=lambda p: float(p.stem.rsplit("_", 1)[1])
    )
    masses = np.array([float(p.stem.rsplit("_", 1)[1]) for p in paths])
    rates = np.array([read_cdf_spectrum(p, data.response.e_keV) for p in paths])
    out = coupling_limits(wimp_dataset(base, data, rates, masses), settings)
    _, sens = s2only_wimp_limit_inputs(root, data, model)
    ref = sens.set_index("mass_GeV")["median"]
    df = pd.DataFrame(
        {
            "mass_GeV": masses,
            "release_median": [ref.get(m, np.nan) for m in masses],
            "nufog_median": WIMP_REFERENCE_XS_CM2 * out["expected_median"],
            "nufog_minus1": WIMP_REFERENCE_XS_CM2 * out["expected_minus1"],
            "nufog_plus1": WIMP_REFERENCE_XS_CM2 * out["expected_plus1"],
            "fit_ok": out["fit_ok"],
        }
    )
    df.insert(3, "ratio", df["nufog_median"] / df["release_median"])
    return df


def b8_flux_fit(
    data: Dataset,
    flux_cm2_s: float,
    sample: str = "sm_cevns_8B",
    flux_nuisance: str = "flux_8B",
    n_scan: int = 801,
    mu_max: float | None = None,
) -> dict[str, Any]:
    """Best-fit 8B flux from a data set: the SM 8B CEvNS sample's strength mu >= 0 free, its flux prior
    (``flux_nuisance``) dropped, every other nuisance profiled; the 68.3 % interval from -2 ln L
    (profile) rising by 1 on a scan. ``flux_cm2_s`` is the flux the sample was computed with.

    Returns mu_hat, its interval, the fluxes (mu x flux_cm2_s), the significance of mu > 0 and the scan.
    """
    from dataclasses import replace

    names = [s.name for s in data.samples]
    if sample not in names:
        raise ValueError(f"data set {data.name!r} has no sample {sample!r}; samples: {names}")
    probe_sample = next(s for s in data.samples if s.name == sample)

    def as_terms(values: np.ndarray) -> np.ndarray:
        return np.stack([values[None, :], np.zeros((1, values.size))])

    mods = tuple(
        replace(m, down=as_terms(m.down), up=as_terms(m.up)) if m.kind == "shape" else m
        for m in probe_sample.modifiers
        if m.nuisance != flux_nuisance
    )
    others = tuple(s for s in data.samples if s.name != sample)
    probe = replace(
        data,
        samples=others,
        signals=(Signal(sample, as_terms(probe_sample.nominal), mods),),
        masses_MeV=np.array([1.0]),
    )
    model = Model(probe)
    best = model.profile(np.ones(1), np.zeros(1, dtype=int), free_g=True)
    mu_hat, nll_min = float(best.g[0]), float(best.nll2[0])
    null = model.profile(np.zeros(1), np.zeros(1, dtype=int))
    top = mu_max if mu_max is not None else max(4.0 * mu_hat, 3.0)
    mu = np.linspace(0.0, top, n_scan)
    scan = model.profile(mu, np.zeros(mu.size, dtype=int))
    delta = scan.nll2 - min(nll_min, float(scan.nll2.min()))
    lo = _crossing(mu, delta, 1.0, below=True, at=mu_hat)
    hi = _crossing(mu, delta, 1.0, below=False, at=mu_hat)
    return {
        "sample": sample,
        "flux_reference_cm2_s": float(flux_cm2_s),
        "mu_hat": mu_hat,
        "mu_68": [lo, hi],
        "flux_hat_cm2_s": mu_hat * flux_cm2_s,
        "flux_68_cm2_s": [lo * flux_cm2_s, hi * flux_cm2_s],
        "significance": float(np.sqrt(max(float(null.nll2[0]) - nll_min, 0.0))),
        "fit_ok": bool(best.ok[0] and scan.ok.all()),
        "nuisance_dropped": flux_nuisance,
        "scan": {"mu": mu.tolist(), "delta_nll2": delta.tolist()},
    }


def _crossing(x: np.ndarray, y: np.ndarray, level: float, below: bool, at: float) -> float:
    """Where y crosses ``level`` on the side of ``at`` (linear interpolation); the scan end if it does not."""
    side = x <= at if below else x >= at
    xs, ys = x[side], y[side]
    if below:
        xs, ys = xs[::-1], ys[::-1]
    over = np.nonzero(ys >= level)[0]
    if over.size == 0:
        return float(xs[-1])
    k = int(over[0])
    if k == 0:
        return float(xs[0])
    return float(np.interp(level, [ys[k - 1], ys[k]], [xs[k - 1], xs[k]]))
