"""COHERENT CsI[Na] 2021 templates: NSI charges, timing groups, recoil response and time/efficiency tables.

The pieces of :class:`nufog.coherent_model.CsIModel` that do not depend on the model object:

- :func:`nsi_charge` (from :mod:`nufog.nuclei`): the vector charge of a nucleus with vector NSI
  (eps^uV, eps^dV);
- :data:`GROUPS` and :func:`group_matrix`: which neutrino flavour arrives in which timing group
  (prompt nu_mu; delayed nu_e and anti-nu_mu);
- :func:`recoil_templates`: recoil kernels per timing group, the recoil-energy -> fine-PE response
  matrix (trapezoid weights times exposure) and the unit-charge PE spectra per flavour and isotope;
- :func:`time_rows_exact`: time factors of the four components (prompt, delayed, BRN, NIN) per time
  bin with their offset derivatives, and :func:`hermite`: the cubic Hermite interpolation of such a
  table (the model tabulates the time factors in the offset and the efficiency in alpha_eff);
- :func:`check_edges`, :func:`frozen`: validated bin edges and read-only arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nufog import units as u
from nufog.cevns import RecoilKernel
from nufog.coherent_response import CsIResponse
from nufog.nuclei import Target, nsi_charge
from nufog.sns import FLAVOUR_TIMING, FLAVOURS, SNSSource

__all__ = [
    "GROUPS",
    "nsi_charge",
    "group_matrix",
    "recoil_templates",
    "time_rows_exact",
    "hermite",
    "check_edges",
    "frozen",
]

#: Timing groups (axis -2 of every signal spectrum).
GROUPS: tuple[str, ...] = ("prompt", "delayed")


def group_matrix() -> np.ndarray:
    """(2 groups, n_flavours) 0/1 matrix: which flavour arrives in which timing group."""
    m = np.zeros((len(GROUPS), len(FLAVOURS)))
    for k, f in enumerate(FLAVOURS):
        m[GROUPS.index(FLAVOUR_TIMING[f]), k] = 1.0
    return m


def recoil_templates(
    e_nr_keV: np.ndarray,
    target: Target,
    source: SNSSource,
    form_factor: str,
    response: CsIResponse,
    fine_edges: np.ndarray,
    detector_mass_kg: float,
) -> tuple[dict[str, RecoilKernel], np.ndarray, np.ndarray]:
    """Recoil kernels {group: RecoilKernel}, the response matrix (n_fine, n_E) (events per fine PE bin
    for a rate dR/dE_R in events/(t yr keV), trapezoid weights on the recoil grid) and the unit-charge
    spectra (n_flavour, n_isotope, n_fine)."""
    e_nr = np.asarray(e_nr_keV, dtype=float)
    if e_nr.ndim != 1 or e_nr.size < 3 or np.any(np.diff(e_nr) <= 0) or e_nr[0] <= 0:
        raise ValueError("e_nr_keV must be a positive increasing 1-d array")
    comps = source.flux_components()
    kernels = {
        g: RecoilKernel.build(e_nr, target, [comps[f] for f in FLAVOURS if FLAVOUR_TIMING[f] == g], form_factor)
        for g in GROUPS
    }
    trap = np.zeros_like(e_nr)
    trap[1:] += 0.5 * np.diff(e_nr)
    trap[:-1] += 0.5 * np.diff(e_nr)
    exposure = float(detector_mass_kg) / u.TONNE_KG / u.SECONDS_PER_YEAR  # (per t yr) -> events
    resp = response.pe_probabilities(e_nr, fine_edges) * (trap * exposure)[None, :]
    unit = []
    for f in FLAVOURS:
        kern = kernels[FLAVOUR_TIMING[f]]
        rate = kern.rate_per_isotope(charges=np.ones((len(target.isotopes), 1)))[kern.components.index(f)]
        unit.append(rate @ resp.T)
    return kernels, resp, np.array(unit)


def hermite(nodes: np.ndarray, y: np.ndarray, d: np.ndarray, at: np.ndarray):
    """Cubic Hermite interpolation of a table y (n_nodes, ...) with derivatives d (times the node step)
    at points ``at`` (n,): values, first and second derivatives (n, ...)."""
    h = nodes[1] - nodes[0]
    z = (np.asarray(at, dtype=float) - nodes[0]) / h
    k = np.minimum(np.maximum(np.floor(z).astype(int), 0), nodes.size - 2)
    s = (z - k).reshape((-1,) + (1,) * (y.ndim - 1))
    y0, y1, d0, d1 = y[k], y[k + 1], d[k], d[k + 1]
    s2, s3 = s * s, s * s * s
    val = (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * d0 + (3 * s2 - 2 * s3) * y1 + (s3 - s2) * d1
    der = ((6 * s2 - 6 * s) * (y0 - y1) + (3 * s2 - 4 * s + 1) * d0 + (3 * s2 - 2 * s) * d1) / h
    der2 = ((12 * s - 6) * (y0 - y1) + (6 * s - 4) * d0 + (6 * s - 2) * d1) / h**2
    return val, der, der2


def time_rows_exact(t_edges, profiles, bkg_profiles, eps_t, shift_backgrounds: bool, offset: float):
    """Time factors (prompt, delayed, BRN, NIN) x time bins and their offset derivatives at ``offset``
    (us), with the timing efficiency ``eps_t``; BRN and NIN shift only with ``shift_backgrounds``."""
    rows, drows = [], []
    knee, rate = eps_t.knee_us, eps_t.rate_per_us
    for g in GROUPS:
        t, dt = profiles[g].window_integrals(t_edges, offset, knee, rate)
        rows.append(t)
        drows.append(dt)
    for name in ("brn", "nin"):
        t, dt = bkg_profiles[name].window_integrals(t_edges, offset if shift_backgrounds else 0.0, knee, rate)
        rows.append(t)
        drows.append(dt if shift_backgrounds else np.zeros_like(dt))
    return np.array(rows), np.array(drows)


def check_edges(edges: Sequence[float] | np.ndarray, name: str, lo: float, hi: float) -> np.ndarray:
    """Bin edges as an increasing 1-d array inside [lo, hi] (ValueError naming ``name`` otherwise)."""
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError(f"{name} must be an increasing 1-d array with at least two entries")
    if e[0] < lo or e[-1] > hi:
        raise ValueError(f"{name} must lie in the ROI [{lo}, {hi}], got [{e[0]}, {e[-1]}]")
    return e


def frozen(a: np.ndarray) -> np.ndarray:
    """A read-only float copy of ``a``."""
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a
