"""COHERENT CsI 2021 as a data set of the shared binned-likelihood core (issue 9, first section).

:func:`csi_parts` turns a :class:`~nufog.coherent_model.CsIModel` and the mediator models into the
objects of :mod:`nufog.likelihood`; :func:`csi_dataset` assembles the :class:`~nufog.likelihood.Dataset`
of one model and :func:`csi_fold` writes the fold table of :mod:`nufog.fold`
(``results/{run}/fold/coherent_csi.parquet``), so that the core's limit methods, expected bands and
combinations apply to COHERENT.

Analysis bins: the PE x time bins of the model, flattened row-major (bin = i_PE n_t + j_t). Components:

==================  ==========  =============================================================================
component           kind        modifiers
==================  ==========  =============================================================================
``steady_state``    background  ``coherent_ss`` (normal, 1/sqrt(N_AC))
``brn``, ``nin``    background  ``coherent_brn`` (25 %), ``coherent_nin`` (35 %) (normal); the time offset
                                only if the model shifts the backgrounds (``shift_backgrounds``)
``sm_cevns_prompt``  sm         ``sns_yield`` (normal, 10 %), ``coherent_eff``, ``coherent_t_offset`` (shape)
``sm_cevns_delayed`` sm         as prompt
``bsm_sns``         lin/quad    as prompt: sign G L + G^2 Q over both timing groups
==================  ==========  =============================================================================

``sns_yield`` is CsIModel's alpha_nu = sigma theta; ``coherent_ss/brn/nin`` likewise. ``coherent_eff`` is
alpha_eff itself (unit Gaussian), with templates at alpha_eff = -1, +1. ``coherent_t_offset`` is
unconstrained (``free``): theta = t_offset / delta with templates at -delta and +delta
(:data:`OFFSET_DELTA_US`).

Approximations against the exact model (tested in ``tests/unit/test_coherent_dataset.py``):

- the quadratic (HistFactory code-4-like) interpolation of the efficiency and of the time offset inside
  |theta| <= 1, linear outside;
- the two shape effects add (Delta_eff + Delta_t) where the exact model multiplies E(alpha_eff) T(t):
  the cross term dE dT is missing (second order: alpha_eff t_offset);
- the core's bounds: |theta| <= 5 for the constrained nuisances (CsIModel: alpha in [-0.99, 4]), none on
  the offset (CsIModel: +-0.5 us).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nufog.coherent_model import CsIModel
from nufog.coherent_profile import fit
from nufog.coherent_templates import GROUPS
from nufog.fold import FoldTable
from nufog.likelihood import Dataset, Modifier, Sample, Signal
from nufog.mediators import Mediator

__all__ = [
    "OFFSET_DELTA_US",
    "NUISANCE_NAMES",
    "CsIParts",
    "exact_templates",
    "csi_parts",
    "csi_dataset",
    "csi_fold",
    "shape_points",
    "core_theta",
    "csi_nuisances",
    "fold_coherent",
]

#: offset of the time-shape templates [us] (theta = t_offset / delta); chosen in the tests (README)
OFFSET_DELTA_US = 0.03
#: core nuisance name of each CsIModel nuisance (:data:`nufog.coherent_model.NUISANCES` order)
NUISANCE_NAMES = ("sns_yield", "coherent_ss", "coherent_brn", "coherent_nin", "coherent_eff", "coherent_t_offset")
SHAPES = ("coherent_eff", "coherent_t_offset")


def exact_templates(
    model: CsIModel, spectra: np.ndarray, alpha_eff: float = 0.0, t_offset_us: float = 0.0
) -> np.ndarray:
    """Exact neutrino-induced counts (..., 2 groups, n_pe * n_t) for spectra (..., 2, n_fine) at one
    efficiency nuisance and time offset (closed-form efficiency average, exact time integrals)."""
    eff = model.efficiency.bin_average(model.fine_edges, alpha_eff)[0]
    e_pe = (np.asarray(spectra) * eff) @ model.aggregate  # (..., 2, n_pe)
    t = model.time_rows_exact(float(t_offset_us))[0][: len(GROUPS)]  # (2, n_t)
    out = e_pe[..., :, :, None] * t[:, None, :]
    return out.reshape(out.shape[:-2] + (-1,))


def shape_points(offset_centre_us: float, offset_delta_us: float) -> dict[str, tuple[tuple[float, float], ...]]:
    """(alpha_eff, t_offset_us) of the down and up templates of each shape nuisance: the efficiency at
    alpha_eff = -1, +1 and the time offset at t_c -+ delta (both at the other's centre)."""
    t0, delta = float(offset_centre_us), float(offset_delta_us)
    return {"coherent_eff": ((-1.0, t0), (1.0, t0)), "coherent_t_offset": ((0.0, t0 - delta), (0.0, t0 + delta))}


def _background_templates(model: CsIModel, t_offset_us: float) -> dict[str, np.ndarray]:
    t = model.time_rows_exact(float(t_offset_us))[0]
    return {
        "brn": np.outer(model.bkg_pe[0], t[2]).ravel(),
        "nin": np.outer(model.bkg_pe[1], t[3]).ravel(),
    }


@dataclass(frozen=True, eq=False)
class CsIParts:
    """Core objects of the COHERENT data set: ``samples`` (backgrounds and SM CEvNS), ``signals``
    ({model: Signal}), ``masses_MeV``, ``signs`` ({model: coupling sign}), ``observed`` (flat), ``free``."""

    samples: tuple[Sample, ...]
    signals: dict[str, Signal]
    masses_MeV: np.ndarray
    signs: dict[str, float]
    observed: np.ndarray
    free: frozenset[str]
    offset_delta_us: float
    offset_centre_us: float = 0.0


def csi_parts(
    model: CsIModel,
    mediators: Mapping[str, tuple[Mediator, float]] | None = None,
    masses_MeV: Sequence[float] | np.ndarray = (),
    offset_delta_us: float = OFFSET_DELTA_US,
    offset_centre_us: float | None = None,
    interpolation: str = "quadratic",
) -> CsIParts:
    """Samples and signals of the core from ``model``; ``mediators`` = {name: (Mediator, coupling sign)}.

    The time templates sit at t_c and t_c +- ``offset_delta_us`` with t_c = ``offset_centre_us``
    (default: the offset of the exact SM fit, :func:`nufog.coherent_profile.fit`): theta = (t - t_c) / delta.
    """
    if not offset_delta_us > 0:
        raise ValueError(f"offset_delta_us must be positive, got {offset_delta_us}")
    masses = np.atleast_1d(np.asarray(masses_MeV, dtype=float))
    sig = model.pull_sigmas
    if offset_centre_us is None:
        offset_centre_us = float(fit(model).x[5])
    delta, t0 = float(offset_delta_us), float(offset_centre_us)
    variations = shape_points(t0, delta)

    def shape_mods(fn) -> tuple[Modifier, ...]:
        return tuple(
            Modifier(name, "shape", down=fn(*dn), up=fn(*up), interpolation=interpolation)
            for name, (dn, up) in variations.items()
        )

    yield_mod = Modifier("sns_yield", "normal", float(sig[0]))
    samples = [Sample("steady_state", model.ss.ravel(), (Modifier("coherent_ss", "normal", float(sig[1])),))]
    bkg0 = _background_templates(model, t0 if model.shift_backgrounds else 0.0)
    for k, name in ((2, "brn"), (3, "nin")):
        mods = (Modifier(f"coherent_{name}", "normal", float(sig[k])),)
        if model.shift_backgrounds:
            mods += (
                Modifier(
                    "coherent_t_offset",
                    "shape",
                    down=_background_templates(model, t0 - delta)[name],
                    up=_background_templates(model, t0 + delta)[name],
                    interpolation=interpolation,
                ),
            )
        samples.append(Sample(name, bkg0[name], mods))
    for k, g in enumerate(GROUPS):
        samples.append(
            Sample(
                f"sm_cevns_{g}",
                exact_templates(model, model.sm_spectra, 0.0, t0)[k],
                (yield_mod, *shape_mods(lambda a, t, k=k: exact_templates(model, model.sm_spectra, a, t)[k])),
            )
        )
    signals, signs = {}, {}
    for name, (med, sign) in (mediators or {}).items():
        lin, quad = model.bsm_spectra(med, masses)  # (n_mass, 2, n_fine)
        both = np.stack([sign * lin, quad])  # (2, n_mass, 2, n_fine)

        def terms(a: float, t: float, both=both) -> np.ndarray:
            return exact_templates(model, both, a, t).sum(axis=-2)  # (2, n_mass, n_bins)

        signals[name] = Signal("bsm_sns", terms(0.0, t0), (yield_mod, *shape_mods(terms)))
        signs[name] = float(sign)
    return CsIParts(
        samples=tuple(samples),
        signals=signals,
        masses_MeV=masses,
        signs=signs,
        observed=model.observed.ravel().copy(),
        free=frozenset({"coherent_t_offset"}),
        offset_delta_us=delta,
        offset_centre_us=t0,
    )


def csi_dataset(parts: CsIParts, model: str | None = None, name: str = "coherent_csi") -> Dataset:
    """The core :class:`Dataset` of one mediator model (``None``: SM only)."""
    return Dataset(
        name=name,
        observed=parts.observed,
        samples=parts.samples,
        signals=(parts.signals[model],) if model is not None else (),
        masses_MeV=parts.masses_MeV,
        free=parts.free,
    )


def core_theta(x: Sequence[float], parts: CsIParts, names: Sequence[str]) -> np.ndarray:
    """CsIModel nuisances x (alpha_nu, alpha_ss, alpha_brn, alpha_nin, alpha_eff, t_offset_us) as the core's
    theta in the order ``names`` (:attr:`nufog.likelihood.Model.names`)."""
    sigmas = {m.nuisance: m.sigma for s in parts.samples for m in s.modifiers if m.kind == "normal"}
    values = {}
    for k, n in enumerate(NUISANCE_NAMES):
        if n == "coherent_eff":
            values[n] = x[k]
        elif n == "coherent_t_offset":
            values[n] = (x[k] - parts.offset_centre_us) / parts.offset_delta_us
        else:
            values[n] = x[k] / sigmas[n]
    return np.array([values[n] for n in names])


def csi_nuisances(theta: np.ndarray, parts: CsIParts, names: Sequence[str]) -> np.ndarray:
    """Inverse of :func:`core_theta`: the core's theta (..., K) in the order ``names`` as CsIModel nuisances
    (..., 6); a nuisance missing from ``names`` (e.g. ``sns_yield`` when the CEvNS strength is free) is 0."""
    theta = np.asarray(theta, dtype=float)
    sigmas = {m.nuisance: m.sigma for s in parts.samples for m in s.modifiers if m.kind == "normal"}
    x = np.zeros(theta.shape[:-1] + (len(NUISANCE_NAMES),))
    for k, n in enumerate(NUISANCE_NAMES):
        if n not in names:
            continue
        t = theta[..., list(names).index(n)]
        if n == "coherent_eff":
            x[..., k] = t
        elif n == "coherent_t_offset":
            x[..., k] = parts.offset_centre_us + parts.offset_delta_us * t
        else:
            x[..., k] = sigmas[n] * t
    return x


def csi_fold(
    parts: CsIParts, model_info: Mapping[str, Mapping[str, Any]], label: str, meta: Mapping[str, Any]
) -> tuple[FoldTable, dict[str, Any]]:
    """Fold table and metadata (format of :mod:`nufog.fold`) of the COHERENT data set."""
    table, norm_mods, interp = FoldTable(), {}, {}

    def add(component, kind, model, masses, nominal, mods):
        table.add(component, kind, model, masses, "nominal", nominal)
        for m in mods:
            if m.kind == "shape":
                table.add(component, kind, model, masses, f"{m.nuisance}/down", m.down)
                table.add(component, kind, model, masses, f"{m.nuisance}/up", m.up)
                interp[m.nuisance] = m.interpolation
        norm_mods[component] = [
            {"nuisance": m.nuisance, "kind": m.kind, "sigma": float(m.sigma)} for m in mods if m.kind != "shape"
        ]

    for s in parts.samples:
        add(s.name, "sm" if s.name.startswith("sm_") else "background", "", None, s.nominal, s.modifiers)
    for name, g in parts.signals.items():
        for k, kind in enumerate(("lin", "quad")):
            mods = [
                m if m.kind != "shape" else Modifier(m.nuisance, "shape", down=m.down[k], up=m.up[k])
                for m in g.modifiers
            ]
            add(g.name, kind, name, parts.masses_MeV, g.terms[k], mods)
    n_pe = int(meta.get("n_pe", 1))
    n_t = parts.observed.size // n_pe
    labels = [f"pe{i}_t{j}" for i in range(n_pe) for j in range(n_t)]
    out_meta = {
        "dataset": "coherent_csi",
        "label": label,
        "bin_labels": labels,
        "observed": [float(x) for x in parts.observed],
        "exposure_t_yr": float(meta.get("exposure_t_yr", float("nan"))),
        "normalisation_modifiers": norm_mods,
        "interpolation": interp,
        "free": sorted(parts.free),
        "masses_MeV": [float(m) for m in parts.masses_MeV],
        "models": {k: dict(v) for k, v in model_info.items()},
        "sm_scale": 1.0,
        "data_meta": {
            "kind": "coherent_csi",
            "offset_delta_us": parts.offset_delta_us,
            "offset_centre_us": parts.offset_centre_us,
            **dict(meta),
        },
    }
    return table, out_meta


def fold_coherent(
    model: CsIModel,
    models: Mapping[str, Mapping[str, Any]],
    masses_MeV: np.ndarray,
    label: str,
    hadronic: Mapping[str, float] | None = None,
    offset_delta_us: float = OFFSET_DELTA_US,
) -> tuple[FoldTable, dict[str, Any]]:
    """Fold table and metadata of the COHERENT data set for the ``models`` config entries that list it
    (coupling sign from their ``interference``: constructive for the vector, as in the COHERENT limits)."""
    from nufog.analysis import build_model
    from nufog.limits import coupling_sign

    mediators, info = {}, {}
    for name, cfg in models.items():
        med = build_model(name, {"models": {name: cfg}, "hadronic": hadronic})
        if med.target != "nucleus":
            raise ValueError(f"model {name!r} does not scatter on nuclei; COHERENT CsI sees nuclear recoils")
        sign = float(coupling_sign(med, cfg.get("interference", "constructive")))
        mediators[name] = (med, sign)
        info[name] = {
            "energy": "nr",
            "kind": cfg.get("kind", name),
            "coupling_sign": sign,
            "label": med.label,
            "coupling_label": med.coupling_label,
        }
    parts = csi_parts(model, mediators, masses_MeV, offset_delta_us=offset_delta_us)
    meta = {
        "n_pe": model.n_pe,
        "n_t": model.n_t,
        "pe_edges": [float(x) for x in model.pe_edges],
        "t_edges_us": [float(x) for x in model.t_edges],
        "exposure_t_yr": float("nan"),
        "reference": "COHERENT, PRL 129, 081801 (2022), arXiv:2110.07730 (data release: its ancillary files)",
    }
    return csi_fold(parts, info, label, meta)
