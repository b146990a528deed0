"""COHERENT CsI[Na] 2021: the binned model in PE x time and its -2 ln L (physics.md section 5).

The expected counts in PE bin i and time bin j are (paper appendix Eq. (1))

    N_ij = (1 + alpha_nu) sum_g E_gi(alpha_eff) T_gj(t_offset)
           + (1 + alpha_SS) SS_ij + (1 + alpha_BRN) BRN_ij + (1 + alpha_NIN) NIN_ij

with g in {prompt (nu_mu), delayed (nu_e + anti-nu_mu)}: the neutrino energy spectrum and the arrival
time factorise for each flavour, so the signal is a sum of two outer products.

Energy part (one matrix product per cross section):

    E_gi = sum_{k in bin i} <eps_E>_k sum_{E_R} R(k | E_R) w(E_R) dR_g/dE_R

- dR_g/dE_R: :class:`nufog.cevns.RecoilKernel` rates with the SNS fluence
  (:meth:`nufog.sns.SNSSource.flux_components`), summed over 133Cs and 127I, times
  (detector tonnes) / (seconds per year) to turn "per t yr" into events; w = trapezoid weights on a
  log-spaced recoil grid (1-50 keV_nr; the 52.8 MeV endpoint gives at most 47 keV_nr on 127I).
- R(k | E_R): fine PE bins k (0.5 PE wide) of the gamma resolution, <eps_E>_k the bin-averaged energy
  efficiency (:mod:`nufog.coherent_response`).

Time part: the analytic arrival-time profiles of :mod:`nufog.sns` integrated over the time bins with
the timing efficiency eps_T. The anti-coincident sample supports eps_T: its steady-state time
distribution falls as eps_T does (tested).

Backgrounds: steady state (anti-coincident data), BRN and NIN templates from the release
(:func:`nufog.coherent_release.background_templates`); sigma_SS = 1/sqrt(N_AC in the ROI) = 2.8 %,
sigma_BRN = 25 %, sigma_NIN = 35 %.

Likelihood: -2 ln L = 2 sum_ij (mu - n + n ln(n/mu)) + sum_k (alpha_k/sigma_k)^2 (Baker-Cousins),
nuisances (alpha_nu, alpha_ss, alpha_brn, alpha_nin, alpha_eff, t_offset); alpha_eff has a unit
Gaussian pull; t_offset (the beam-onset shift of the neutrino timing, us) is unconstrained within
``offset_bounds_us``. The time offset shifts the neutrino profiles only (their origin is our model
choice; the release BRN/NIN timing is already on the data's t axis); ``shift_backgrounds=True`` shifts
BRN and NIN too. :meth:`CsIModel.evaluate` gives -2 ln L, its analytic gradient and Hessian for a batch
of nuisance vectors and spectra; the exact fits live in :mod:`nufog.coherent_profile`, the fits on the
shared likelihood core in :mod:`nufog.coherent_fits`.

Data binning (defaults, :data:`DEFAULT_PE_EDGES`, :data:`DEFAULT_T_EDGES`): 4-PE bins from 4 to 60 PE
(no data and zero efficiency below 6.2 and 7.1 PE respectively) and time bins of 0.125 us up to 1 us
(the prompt peak, which fixes t_offset), then 1-1.5-2-3-4-6 us; 14 x 13 bins.

Numbers with the defaults (checked in ``tests/unit/test_coherent.py``): SM CEvNS prediction in the
ROI 322.6 events (Klein-Nystrand; 347.9 with Helm). Without the timing efficiency it is 345.7 (372.9
with Helm), which is what physics.md section 7 quotes (~343 and ~370): those numbers leave eps_T out.

The model is immutable: :meth:`CsIModel.with_observed` and :meth:`CsIModel.scaled` return new models.
Units: PE (reconstructed energy), us (time), keV_nr / keV_ee, MeV internally.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.special import xlogy

from nufog.cevns import RecoilKernel
from nufog.coherent_release import CsIRelease, background_templates, histogram2d, load_release, profiles_from_root
from nufog.coherent_response import CsIResponse, EnergyEfficiency, TimingEfficiency, rebin_matrix
from nufog.coherent_templates import (
    GROUPS,
    check_edges,
    frozen,
    group_matrix,
    hermite,
    nsi_charge,
    recoil_templates,
    time_rows_exact,
)
from nufog.mediators import Mediator, cevns_rate_terms, get_model
from nufog.nuclei import Target, csi, vector_charge
from nufog.sns import (
    FLAVOURS,
    HistogramProfile,
    SNSSource,
    TimeProfile,
    arrival_time_profiles,
)

__all__ = [
    "DEFAULT_PE_EDGES",
    "DEFAULT_T_EDGES",
    "NUISANCES",
    "GROUPS",
    "nsi_charge",
    "CsIModel",
    "model_from_config",
]

DEFAULT_PE_EDGES: np.ndarray = np.arange(4.0, 60.0 + 1e-9, 4.0)
DEFAULT_T_EDGES: np.ndarray = np.array([0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
#: Order of the nuisance-parameter vector.
NUISANCES: tuple[str, ...] = ("alpha_nu", "alpha_ss", "alpha_brn", "alpha_nin", "alpha_eff", "t_offset_us")


@dataclass(frozen=True, eq=False)
class CsIModel:
    """Templates and observed counts of the COHERENT CsI 2021 binned likelihood (module docstring).

    Build it with :meth:`build` (from the release files) or :func:`model_from_config`. All arrays are
    read-only. Shapes: ``sm_spectra`` (2 groups, n_fine); ``unit_spectra`` (n_flavour, n_isotope,
    n_fine) per unit charge squared; ``ss`` and ``observed`` (n_pe, n_t); ``bkg_pe`` (2, n_pe) (BRN,
    NIN PE factors); time tables ``tau_y``/``tau_d`` (n_nodes, 4 rows: prompt, delayed, BRN, NIN, n_t).
    """

    pe_edges: np.ndarray
    t_edges: np.ndarray
    fine_edges: np.ndarray
    e_nr_keV: np.ndarray
    response: CsIResponse
    efficiency: EnergyEfficiency
    timing_efficiency: TimingEfficiency
    profiles: dict[str, TimeProfile]
    bkg_profiles: dict[str, HistogramProfile]
    kernels: dict[str, RecoilKernel]
    target: Target
    response_matrix: np.ndarray
    aggregate: np.ndarray
    unit_spectra: np.ndarray
    sm_charges: np.ndarray
    sm_spectra: np.ndarray
    ss: np.ndarray
    bkg_pe: np.ndarray
    tau_nodes: np.ndarray
    tau_y: np.ndarray
    tau_d: np.ndarray
    eff_nodes: np.ndarray
    eff_y: np.ndarray
    eff_d: np.ndarray
    observed: np.ndarray
    pull_sigmas: np.ndarray
    bounds: tuple[tuple[float, float], ...]
    shift_backgrounds: bool = False
    form_factor: str = "klein_nystrand"
    detector_mass_kg: float = 14.6
    scales: np.ndarray = field(default_factory=lambda: np.ones(6))
    n_logn: float = field(init=False)

    def __post_init__(self) -> None:
        n = np.asarray(self.observed, dtype=float)
        if n.shape != (self.n_pe, self.n_t) or np.any(n < 0) or np.any(~np.isfinite(n)):
            raise ValueError(f"observed counts must be finite, >= 0, of shape {(self.n_pe, self.n_t)}")
        object.__setattr__(self, "observed", frozen(n))
        object.__setattr__(self, "n_logn", float(xlogy(n, n).sum()))

    # --- construction ---
    @classmethod
    def build(
        cls,
        release: CsIRelease | None = None,
        *,
        data_dir: str | Path | None = None,
        pe_edges: Sequence[float] | np.ndarray = DEFAULT_PE_EDGES,
        t_edges: Sequence[float] | np.ndarray = DEFAULT_T_EDGES,
        form_factor: str = "klein_nystrand",
        source: SNSSource = SNSSource(),
        detector_mass_kg: float = 14.6,
        profiles: dict[str, TimeProfile] | None = None,
        timing_efficiency: TimingEfficiency | None = TimingEfficiency(),
        qf_row: int = 0,
        e_nr_keV: np.ndarray | None = None,
        fine_pe_width: float = 0.5,
        n_brn: float = 18.4,
        n_nin: float = 5.6,
        sigma_nu: float = 0.10,
        sigma_ss: float | None = None,
        sigma_brn: float = 0.25,
        sigma_nin: float = 0.35,
        ss_model: Literal["factorised", "binned"] = "factorised",
        shift_backgrounds: bool = False,
        offset_bounds_us: tuple[float, float] = (-0.5, 0.5),
        observed: np.ndarray | None = None,
    ) -> CsIModel:
        """Model from the release files (``release`` or ``data_dir``, default
        ``$NUFOG_DATA_MIRROR/coherent_csi2021``).

        ``timing_efficiency=None`` switches eps_T off; ``qf_row`` picks the quenching row (0 = nominal);
        ``e_nr_keV`` is the recoil grid (default 600 log-spaced points, 1-50 keV); ``n_brn``/``n_nin``
        are BRN and NIN events in the ROI before eps_T; ``sigma_ss`` defaults to 1/sqrt(N_AC in the
        ROI); ``observed`` replaces the release's coincident events (toys, Asimov).
        """
        rel = load_release(data_dir) if release is None else release
        pe_edges = check_edges(pe_edges, "pe_edges", 0.0, 60.0)
        t_edges = check_edges(t_edges, "t_edges", 0.0, 6.0)
        if not detector_mass_kg > 0:
            raise ValueError(f"detector_mass_kg must be positive, got {detector_mass_kg}")
        if ss_model not in ("factorised", "binned"):
            raise ValueError(f"ss_model must be 'factorised' or 'binned', got {ss_model!r}")
        if not (offset_bounds_us[0] < 0.0 < offset_bounds_us[1]):
            raise ValueError(f"offset_bounds_us must bracket 0, got {offset_bounds_us}")
        if not fine_pe_width > 0:
            raise ValueError(f"fine_pe_width must be positive, got {fine_pe_width}")
        for name, val in (("n_brn", n_brn), ("n_nin", n_nin)):
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {val}")
        profiles = arrival_time_profiles() if profiles is None else dict(profiles)
        if set(profiles) != set(GROUPS):
            raise ValueError(f"profiles must have keys {GROUPS}")
        eps_t = TimingEfficiency(rate_per_us=0.0) if timing_efficiency is None else timing_efficiency
        if not 0 <= qf_row < rel.qf_coefficients.shape[0]:
            raise ValueError(f"qf_row must index the {rel.qf_coefficients.shape[0]} quenching rows")
        response = CsIResponse(tuple(rel.qf_coefficients[qf_row]))

        # --- recoil grid, kernels, response matrix ---
        e_nr = np.geomspace(1.0, 50.0, 600) if e_nr_keV is None else np.asarray(e_nr_keV, dtype=float)
        n_fine = int(np.ceil(pe_edges[-1] / fine_pe_width - 1e-9))
        fine_edges = np.linspace(0.0, n_fine * fine_pe_width, n_fine + 1)
        target = csi()
        kernels, resp, unit = recoil_templates(
            e_nr, target, source, form_factor, response, fine_edges, detector_mass_kg
        )
        sm_charges = np.array([vector_charge(i.Z, i.N) for i in target.isotopes])

        # --- data and backgrounds ---
        observed = histogram2d(rel.coincident, pe_edges, t_edges) if observed is None else observed
        ss, bkg_pe, bkg_profiles = background_templates(rel, pe_edges, t_edges, eps_t, n_brn, n_nin, ss_model)

        # --- time factors tabulated on a grid of offsets (cubic Hermite interpolation in evaluate) ---
        step_us = 0.005
        lo, hi = offset_bounds_us
        nodes = np.linspace(lo, hi, int(np.ceil((hi - lo) / step_us)) + 1)
        rows = [time_rows_exact(t_edges, profiles, bkg_profiles, eps_t, shift_backgrounds, float(t)) for t in nodes]
        # bin-averaged energy efficiency tabulated in alpha_eff (same interpolation, 0.005 steps)
        efficiency = EnergyEfficiency.from_rows(rel.eff_coefficients)
        eff_nodes = np.linspace(-3.0, 3.0, 1201)
        eff_y, eff_d = efficiency.bin_average(fine_edges, eff_nodes)
        n_ac = float(ss.sum())
        pulls = np.array(
            [sigma_nu, 1.0 / np.sqrt(n_ac) if sigma_ss is None else sigma_ss, sigma_brn, sigma_nin, 1.0, np.inf]
        )
        if np.any(pulls[:5] <= 0):
            raise ValueError("pull widths must be positive")
        model = cls(
            pe_edges=frozen(pe_edges),
            t_edges=frozen(t_edges),
            fine_edges=frozen(fine_edges),
            e_nr_keV=frozen(e_nr),
            response=response,
            efficiency=efficiency,
            timing_efficiency=eps_t,
            profiles=profiles,
            bkg_profiles=bkg_profiles,
            kernels=kernels,
            target=target,
            response_matrix=frozen(resp),
            aggregate=frozen(rebin_matrix(fine_edges, pe_edges).T),
            unit_spectra=frozen(unit),
            sm_charges=frozen(sm_charges),
            sm_spectra=frozen(group_matrix() @ np.einsum("i,fik->fk", sm_charges**2, unit)),
            ss=frozen(ss),
            bkg_pe=frozen(bkg_pe),
            tau_nodes=frozen(nodes),
            tau_y=frozen(np.array([r[0] for r in rows])),
            tau_d=frozen(np.array([r[1] for r in rows]) * (nodes[1] - nodes[0])),
            eff_nodes=frozen(eff_nodes),
            eff_y=frozen(eff_y),
            eff_d=frozen(eff_d * (eff_nodes[1] - eff_nodes[0])),
            observed=observed,
            pull_sigmas=frozen(pulls),
            bounds=((-0.99, 4.0), (-0.99, 2.0), (-0.99, 4.0), (-0.99, 4.0), (-3.0, 3.0), (float(lo), float(hi))),
            shift_backgrounds=bool(shift_backgrounds),
            form_factor=form_factor,
            detector_mass_kg=float(detector_mass_kg),
        )
        # curvature widths at the nominal point (preconditioner of the minimisers)
        h = model.hessian(np.zeros(6))
        return dataclasses.replace(model, scales=frozen(np.sqrt(2.0 / np.maximum(np.diag(h), 1e-12))))

    def with_observed(self, counts: np.ndarray) -> CsIModel:
        """The same model with other observed counts (n_pe, n_t) (a toy or Asimov data set)."""
        return dataclasses.replace(self, observed=counts)

    def scaled(self, factor: float) -> CsIModel:
        """The model for ``factor`` times the exposure: signal and every background scaled."""
        return dataclasses.replace(
            self,
            ss=frozen(self.ss * factor),
            bkg_pe=frozen(self.bkg_pe * factor),
            unit_spectra=frozen(self.unit_spectra * factor),
            sm_spectra=frozen(self.sm_spectra * factor),
            response_matrix=frozen(self.response_matrix * factor),
        )

    @property
    def n_pe(self) -> int:
        return self.pe_edges.size - 1

    @property
    def n_t(self) -> int:
        return self.t_edges.size - 1

    @property
    def offset_bounds_us(self) -> tuple[float, float]:
        return self.bounds[5]

    def histogram(self, events: np.ndarray) -> np.ndarray:
        """Counts of (PE, t) events in the analysis bins, shape (n_pe, n_t)."""
        return histogram2d(events, self.pe_edges, self.t_edges)

    # --- time factors ---
    def time_rows_exact(self, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Time factors (prompt, delayed, BRN, NIN) x time bins and their offset derivatives, exact."""
        return time_rows_exact(
            self.t_edges, self.profiles, self.bkg_profiles, self.timing_efficiency, self.shift_backgrounds, offset
        )

    def time_rows(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Time factors (n, 4, n_t), first and second offset derivatives for offsets (n,), by cubic
        Hermite interpolation of the 5-ns table (exact values and derivatives at the nodes, C1 in
        between; error below 1e-8 of the bin content)."""
        return hermite(self.tau_nodes, self.tau_y, self.tau_d, offsets)

    def efficiency_rows(self, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bin-averaged energy efficiency on the fine PE bins (n, n_fine) and its first and second
        alpha_eff derivatives, interpolated from a table in alpha_eff (0.005 steps; error below 1e-7,
        tested) -- as :meth:`EnergyEfficiency.bin_average`, without special functions per call."""
        return hermite(self.eff_nodes, self.eff_y, self.eff_d, alpha)

    # --- spectra ---
    def spectra_from_charges(self, charges: dict[str, np.ndarray]) -> np.ndarray:
        """Signal spectra (..., 2 groups, n_fine) for per-flavour isotope charges {flavour: (..., n_iso)}."""
        q2 = np.stack([np.asarray(charges[f], dtype=float) ** 2 for f in FLAVOURS], axis=-2)  # (..., n_fl, n_iso)
        per_flavour = np.einsum("...fi,fik->...fk", q2, self.unit_spectra)
        return np.einsum("gf,...fk->...gk", group_matrix(), per_flavour)

    def nsi_spectra(
        self, eps_u: float | np.ndarray, eps_d: float | np.ndarray, flavours: Sequence[str] = ("nu_e",)
    ) -> np.ndarray:
        """Signal spectra with vector NSI (eps^uV, eps^dV) for ``flavours`` (others keep the SM charge):
        (2, n_fine) for scalars, (..., 2, n_fine) for arrays of points."""
        bad = set(flavours) - set(FLAVOURS)
        if bad:
            raise ValueError(f"unknown flavours {sorted(bad)}; choose from {FLAVOURS}")
        eu, ed = np.broadcast_arrays(np.asarray(eps_u, dtype=float), np.asarray(eps_d, dtype=float))
        q_nsi = np.stack([nsi_charge(i.Z, i.N, eu, ed) for i in self.target.isotopes], axis=-1)
        q_sm = np.broadcast_to(self.sm_charges, q_nsi.shape)
        return self.spectra_from_charges({f: (q_nsi if f in flavours else q_sm) for f in FLAVOURS})

    def bsm_spectra(self, model: str | Mediator, m_med_MeV: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Linear and quadratic BSM spectra (L, Q), each (n_mass, 2 groups, n_fine): the signal at
        coupling product G is ``sm_spectra + G L + G^2 Q`` (:func:`nufog.mediators.cevns_rate_terms`)."""
        model = get_model(model) if isinstance(model, str) else model
        lin, quad = [], []
        for g in GROUPS:
            lin_g, quad_g = cevns_rate_terms(model, self.kernels[g], m_med_MeV)
            lin.append(lin_g @ self.response_matrix.T)
            quad.append(quad_g @ self.response_matrix.T)
        return np.stack(lin, axis=1), np.stack(quad, axis=1)

    # --- prediction ---
    def signal_template(self, spectra: np.ndarray, alpha_eff: float = 0.0, t_offset_us: float = 0.0) -> np.ndarray:
        """Signal counts (n_pe, n_t) for spectra (2, n_fine) at given efficiency and offset (tabulated
        timing within the offset bounds: exact at the 5-ns nodes, 1e-8 in between)."""
        eff = self.efficiency.bin_average(self.fine_edges, alpha_eff)[0]
        e_pe = (spectra * eff) @ self.aggregate
        lo, hi = self.offset_bounds_us
        t = self.time_rows(np.array([t_offset_us]))[0][0] if lo <= t_offset_us <= hi else None
        t = self.time_rows_exact(t_offset_us)[0] if t is None else t
        return e_pe.T @ t[: len(GROUPS)]

    def expected(self, spectra: np.ndarray | None = None, x: Sequence[float] | None = None) -> dict[str, np.ndarray]:
        """Expected counts per component and ``total`` (n_pe, n_t) at nuisances ``x`` (default nominal)."""
        s = self.sm_spectra if spectra is None else spectra
        x = np.zeros(6) if x is None else np.asarray(x, dtype=float)
        t = self.time_rows(x[5:6])[0][0]
        out = {
            "cevns": (1.0 + x[0]) * self.signal_template(s, x[4], x[5]),
            "ss": (1.0 + x[1]) * self.ss,
            "brn": (1.0 + x[2]) * np.outer(self.bkg_pe[0], t[2]),
            "nin": (1.0 + x[3]) * np.outer(self.bkg_pe[1], t[3]),
        }
        out["total"] = sum(out.values())
        return out

    def sm_prediction(self) -> dict[str, float]:
        """SM CEvNS counts in the analysis bins at nominal nuisances, total and per timing group."""
        out = {}
        for k, g in enumerate(GROUPS):
            s = np.zeros_like(self.sm_spectra)
            s[k] = self.sm_spectra[k]
            out[g] = float(self.signal_template(s).sum())
        out["total"] = out["prompt"] + out["delayed"]
        return out

    # --- likelihood ---
    def evaluate(
        self,
        x: np.ndarray,
        spectra: np.ndarray,
        pull_sigmas: np.ndarray | None = None,
        hessian: bool = False,
        d_spectra: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        """-2 ln L for a batch of nuisance vectors x (n, 6) (or one, (6,)) and spectra (2, n_fine) or
        (n, 2, n_fine).

        Returns (chi2 (n,), deviance (n,), gradient (n, 6)), plus the Hessian (n, 6, 6) with
        ``hessian=True``, plus d chi2 / d lambda (n,) for the spectra's derivative ``d_spectra`` in a
        parameter lambda (at fixed nuisances). ``pull_sigmas`` (default the model's; ``inf`` = no
        pull). The Hessian is exact (of the interpolated efficiency and time tables).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        sig_w = self.pull_sigmas if pull_sigmas is None else np.asarray(pull_sigmas, dtype=float)
        one = 1.0 + x[:, :4]
        eff, deff, d2eff = self.efficiency_rows(x[:, 4])  # (n, n_fine)
        e_pe = (spectra * eff[:, None, :]) @ self.aggregate  # (n, 2, n_pe)
        de_pe = (spectra * deff[:, None, :]) @ self.aggregate
        t, dt, d2t = self.time_rows(x[:, 5])
        e_peT = e_pe.transpose(0, 2, 1)
        sig = e_peT @ t[:, :2]  # (n, n_pe, n_t)
        brn = self.bkg_pe[0][None, :, None] * t[:, None, 2]
        nin = self.bkg_pe[1][None, :, None] * t[:, None, 3]
        c = one[:, :, None, None]
        mu = np.maximum(c[:, 0] * sig + c[:, 1] * self.ss + c[:, 2] * brn + c[:, 3] * nin, 1e-300)
        n = self.observed
        dev = 2.0 * (mu.sum(axis=(1, 2)) - n.sum() + self.n_logn - xlogy(n, mu).sum(axis=(1, 2)))
        r = 2.0 * (1.0 - n / mu)
        sig_eff = de_pe.transpose(0, 2, 1) @ t[:, :2]
        sig_t = e_peT @ dt[:, :2]
        d = np.empty((x.shape[0], 6) + mu.shape[1:])
        d[:, 0], d[:, 1], d[:, 2], d[:, 3] = sig, self.ss, brn, nin
        d[:, 4] = c[:, 0] * sig_eff
        d[:, 5] = c[:, 0] * sig_t
        if self.shift_backgrounds:
            brn_t = self.bkg_pe[0][None, :, None] * dt[:, None, 2]
            nin_t = self.bkg_pe[1][None, :, None] * dt[:, None, 3]
            d[:, 5] += c[:, 2] * brn_t + c[:, 3] * nin_t
        n_bins = mu.shape[1] * mu.shape[2]
        d_flat = d.reshape(x.shape[0], 6, n_bins)
        grad = (d_flat @ r.reshape(x.shape[0], n_bins, 1))[..., 0]
        inv = np.where(np.isfinite(sig_w), 1.0 / sig_w**2, 0.0)
        chi2 = dev + (inv * x**2).sum(axis=1)
        grad += 2.0 * inv * x
        out: tuple[np.ndarray, ...] = (chi2, dev, grad)
        if hessian:
            w = (2.0 * n / mu**2).reshape(x.shape[0], 1, n_bins)
            hess = d_flat @ (d_flat * w).transpose(0, 2, 1)
            cross = {
                (0, 4): (r * sig_eff).sum(axis=(1, 2)),
                (0, 5): (r * sig_t).sum(axis=(1, 2)),
                (4, 5): one[:, 0] * (r * (de_pe.transpose(0, 2, 1) @ dt[:, :2])).sum(axis=(1, 2)),
            }
            d2 = c[:, 0] * (e_peT @ d2t[:, :2])
            if self.shift_backgrounds:
                cross[(2, 5)] = (r * brn_t).sum(axis=(1, 2))
                cross[(3, 5)] = (r * nin_t).sum(axis=(1, 2))
                d2 = d2 + c[:, 2] * self.bkg_pe[0][None, :, None] * d2t[:, None, 2]
                d2 = d2 + c[:, 3] * self.bkg_pe[1][None, :, None] * d2t[:, None, 3]
            for (i, j), v in cross.items():
                hess[:, i, j] += v
                hess[:, j, i] += v
            hess[:, 5, 5] += (r * d2).sum(axis=(1, 2))
            d2e = ((spectra * d2eff[:, None, :]) @ self.aggregate).transpose(0, 2, 1) @ t[:, :2]
            hess[:, 4, 4] += (r * c[:, 0] * d2e).sum(axis=(1, 2))
            hess += 2.0 * np.diag(inv)[None]
            out += (hess,)
        if d_spectra is not None:
            dsig = ((d_spectra * eff[:, None, :]) @ self.aggregate).transpose(0, 2, 1) @ t[:, :2]
            out += ((r * c[:, 0] * dsig).sum(axis=(1, 2)),)
        return out

    def chi2_and_grad(
        self, x: np.ndarray, spectra: np.ndarray, pull_sigmas: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """-2 ln L and its gradient in the six nuisances at one point (analytic)."""
        chi2, _, grad = self.evaluate(x, spectra, pull_sigmas)
        return float(chi2[0]), grad[0]

    def hessian(self, x: np.ndarray, spectra: np.ndarray | None = None, pull_sigmas: np.ndarray | None = None):
        """Hessian (6, 6) of -2 ln L at one point (see :meth:`evaluate`)."""
        s = self.sm_spectra if spectra is None else spectra
        return self.evaluate(x, s, pull_sigmas, hessian=True)[3][0]


def model_from_config(cfg: dict, data_dir: str | Path) -> CsIModel:
    """:class:`CsIModel` from the ``coherent`` config section and the release folder."""
    pe = cfg["pe_edges"]
    if cfg.get("sns_flux_root"):
        profiles = profiles_from_root(cfg["sns_flux_root"], cfg.get("sns_flux_root_time_unit", "ns"))
    else:
        profiles = arrival_time_profiles(pulse_fwhm_us=cfg["pulse_fwhm_us"], pulse_centre_us=cfg["pulse_centre_us"])
    return CsIModel.build(
        data_dir=data_dir,
        pe_edges=np.arange(pe["min"], pe["max"] + 1e-9, pe["step"]),
        t_edges=np.asarray(cfg["t_edges_us"], dtype=float),
        form_factor=cfg["form_factor"],
        profiles=profiles,
        timing_efficiency=TimingEfficiency() if cfg["timing_efficiency"] else None,
        n_brn=cfg["n_brn"],
        n_nin=cfg["n_nin"],
        sigma_nu=cfg["sigma_nu"],
        sigma_brn=cfg["sigma_brn"],
        sigma_nin=cfg["sigma_nin"],
        detector_mass_kg=cfg["detector_mass_kg"],
    )
