"""Tests of nufog.electron: neutrino-electron scattering on xenon (physics.md section 2.3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from nufog import electron as el
from nufog import units as u
from nufog.solar import load_solar_fluxes

from ..conftest import data_path


@pytest.fixture(scope="module")
def shells() -> el.ShellTable:
    return el.read_binding_energies(data_path("xenon/binding_xenon_SNuDD.csv"))


@pytest.fixture(scope="module")
def fluxes():
    files = {
        "fluxes_b16": "fluxes_b16.dat",
        "nudistr_b16": "nudistr_b16_gs98.dat",
        "pp": "pp_shape.csv",
        "hep": "hep_shape.csv",
        "13N": "n13_shape.csv",
        "15O": "o15_shape.csv",
        "17F": "f17_shape.csv",
        "8B_bahcall1996": "b8spectrum_bahcall1996_SolarNu.dat",
        "8B_winter2006": "8B_shape_Winter_et_al.csv",
    }
    files = {name: data_path(f"solar/{file}") for name, file in files.items()}
    return load_solar_fluxes(files)


N_XE = u.targets_per_tonne(131.293)


# --- shells and Z_eff ------------------------------------------------------------------------------


def test_shell_table(shells):
    assert len(shells.labels) == 17
    assert shells.n_electrons == 54
    i = shells.labels.index("4d5/2")
    assert shells.binding_MeV[i] == pytest.approx(71.7 * u.eV)
    assert shells.occupancy[i] == 6


def test_effective_electrons_steps(shells):
    ev = u.eV
    z = lambda t_eV: float(el.effective_electrons(t_eV * ev, shells))  # noqa: E731
    # Below every edge nothing can be ionised; above 1s (34.759 keV) all 54 electrons count.
    assert z(5.0) == 0
    assert z(50e3) == 54
    # 5p3/2 (12.0 eV, 4) + 5p1/2 (13.4, 2) + 5s (27.5, 2) = 8 just below 4d5/2 (71.7 eV) ...
    assert z(71.6) == 8
    # ... and 8 + 6 = 14 just above it; 4d3/2 (73.8 eV) adds 4 more.
    assert z(71.8) == 14
    assert z(73.9) == 18
    # By hand at 1 keV: n=5 (8) + n=4 (18) + 3d (10) + 3p3/2 (961.2 eV, 4) = 40; 3p1/2 is at 1024.8 eV.
    assert z(1000.0) == 40
    assert z(1100.0) == 42  # + 3p1/2
    assert z(1170.0) == 42
    assert z(1171.0) == 44  # + 3s (1170.5 eV): all of n = 3, 4, 5
    assert z(5000.0) == 48  # + 2p3/2 (4835.6 eV)
    assert z(10e3) == 52  # + 2p1/2, 2s
    # vectorised, shape preserved
    t = np.array([[71.6, 71.8], [1000.0, 50e3]]) * ev
    assert el.effective_electrons(t, shells).tolist() == [[8, 14], [40, 54]]


def test_read_binding_energies_rejects_bad_header(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="Orbital"):
        el.read_binding_energies(p)


# --- free cross section ------------------------------------------------------------------------------


def test_couplings_and_flavour_validation():
    gv, ga = el.couplings("nu_e")
    assert gv == pytest.approx(0.5 + 2 * 0.23857) and ga == 0.5
    assert el.couplings("tau") == el.couplings("nu_mu")
    with pytest.raises(ValueError, match="unknown neutrino flavour 'nu_s'"):
        el.couplings("nu_s")
    with pytest.raises(ValueError, match="flavour"):
        el.dsigma_dT_free(0.01, 1.0, "electron")


def test_negative_energies_rejected():
    with pytest.raises(ValueError, match="T_MeV"):
        el.dsigma_dT_free(-1e-3, 1.0, "e")
    with pytest.raises(ValueError, match="E_nu_MeV"):
        el.dsigma_dT_free(1e-3, 0.0, "e")
    with pytest.raises(ValueError, match="T_MeV"):
        el.e_nu_min(np.array([1e-3, -1e-3]))


@pytest.mark.parametrize("flavour", ["e", "mu"])
def test_total_cross_section_high_energy(flavour):
    """Integral of Eq. (9) over T against the E >> m_e closed form.

    sigma = G_F^2 m_e E / (2 pi) [ (g_V+g_A)^2 + (g_V-g_A)^2 / 3 ]  (+ O(m_e/E)).
    """
    E = 1e4  # MeV: m_e/E = 5e-5
    tm = float(el.t_max(E))
    sigma, _ = integrate.quad(lambda t: float(el.dsigma_dT_free(t, E, flavour)), 0.0, tm, limit=200)
    gv, ga = el.couplings(flavour)
    closed = u.G_F**2 * u.M_E * E / (2 * np.pi) * ((gv + ga) ** 2 + (gv - ga) ** 2 / 3) * u.MEV2_TO_CM2
    assert sigma == pytest.approx(closed, rel=1e-3, abs=0)  # abs=0: ~1e-41 cm^2


def test_nue_total_cross_section_textbook():
    """sigma(nu_e e) / E_nu ~ 9.2e-45 cm^2/MeV (Giunti & Kim; 9.5e-45 with sin^2 = 0.231).

    Our low-Q sin^2 theta_W = 0.23857 gives (1.4771^2 + 0.4771^2/3) = 2.258 times
    G_F^2 m_e/(2 pi) = 4.31e-45 cm^2/MeV, i.e. 9.73e-45 cm^2/MeV: within 6 % of the textbook number,
    the difference being the value of sin^2 theta_W (and radiative corrections).
    """
    E = 1e4
    sigma, _ = integrate.quad(lambda t: float(el.dsigma_dT_free(t, E, "e")), 0.0, float(el.t_max(E)), limit=200)
    assert sigma / E == pytest.approx(9.73e-45, rel=3e-3, abs=0)
    assert sigma / E == pytest.approx(9.2e-45, rel=0.07, abs=0)


def test_kinematic_endpoint_free():
    E = 0.8613
    tm = float(el.t_max(E))
    assert tm == pytest.approx(2 * E**2 / (u.M_E + 2 * E))
    assert float(el.dsigma_dT_free(tm * (1 - 1e-9), E, "e")) > 0
    assert float(el.dsigma_dT_free(tm * (1 + 1e-9), E, "e")) == 0
    # e_nu_min inverts t_max (Eq. 11)
    t = np.geomspace(1e-6, 10.0, 7)
    assert el.t_max(el.e_nu_min(t)) == pytest.approx(t, rel=1e-12)


# --- rates ------------------------------------------------------------------------------------------------


def _brute_force(T_MeV, comp, pee):
    """Direct quadrature of sum_alpha integral dE Phi_alpha dsigma_free/dT [s^-1 MeV^-1 per electron]."""

    def integrand(E):
        p = float(pee(np.array([E]))[0])
        return float(comp.spectrum(np.array([E]))[0]) * (
            p * float(el.dsigma_dT_free(T_MeV, E, "e")) + (1 - p) * float(el.dsigma_dT_free(T_MeV, E, "mu"))
        )

    if comp.is_line:
        E0 = comp.endpoint_MeV
        if E0 < float(el.e_nu_min(T_MeV)):
            return 0.0
        p = float(pee(np.array([E0]))[0])
        return comp.flux_cm2_s * (
            p * float(el.dsigma_dT_free(T_MeV, E0, "e")) + (1 - p) * float(el.dsigma_dT_free(T_MeV, E0, "mu"))
        )
    lo = float(el.e_nu_min(T_MeV))
    fine_e = comp._fine[0]
    pts = fine_e[(fine_e > lo) & (fine_e < comp.endpoint_MeV)][:: len(fine_e) // 50]
    val, _ = integrate.quad(integrand, lo, comp.endpoint_MeV, points=pts, limit=500)
    return val


@pytest.mark.parametrize("name", ["8B", "7Be_862", "pp"])
def test_moments_equal_brute_force_quadrature(fluxes, shells, name):
    comp = fluxes[name]
    pee = fluxes.survival_probability(comp)
    T_keV = np.array([1.0, 5.0, 30.0, 200.0])
    got = el.differential_rate(T_keV, fluxes, shells, N_XE)[name]
    zeff = el.effective_electrons(T_keV * u.keV, shells)
    for t, g, z in zip(T_keV, got, zeff, strict=True):
        ref = _brute_force(t * u.keV, comp, pee) * N_XE * z * u.SECONDS_PER_YEAR * u.keV
        if ref == 0:
            assert g == 0
        else:
            assert g == pytest.approx(ref, rel=1e-3)


def test_rate_kinematic_endpoints(fluxes, shells):
    tmax_be = float(el.t_max(0.8613)) / u.keV  # 664.3 keV
    tmax_pp = float(el.t_max(fluxes["pp"].endpoint_MeV)) / u.keV  # 261 keV
    r = el.differential_rate(
        np.array([tmax_be - 0.1, tmax_be + 0.1, tmax_pp - 0.1, tmax_pp + 0.1]), fluxes, shells, N_XE
    )
    assert r["7Be_862"][0] > 0 and r["7Be_862"][1] == 0
    assert r["pp"][2] > 0 and r["pp"][3] == 0


def test_rate_1_to_10_keV(fluxes, shells):
    """Natural xenon, B16-GS98 with MSW P_ee: ~2.5-3.1 events / (t yr keV) between 1 and 10 keV.

    Order of magnitude by hand: pp flux 6.0e10 /cm^2/s x ~5e-45 cm^2/MeV (P_ee-weighted Eq. 9 at
    small T) x 4.59e27 atoms/t x ~50 electrons x 3.156e7 s/yr x 1e-3 MeV/keV ~ 2.2 /(t yr keV).
    """
    T = np.array([1.0, 2.0, 5.0, 10.0])
    r = el.differential_rate(T, fluxes, shells, N_XE)
    tot = r["total"]
    assert tot == pytest.approx([2.50, 2.74, 2.95, 3.14], rel=0.02)
    # dominated by pp + 7Be (paper, section 2.1.3)
    assert np.all((r["pp"] + r["7Be_384"] + r["7Be_862"]) / tot > 0.9)
    # flat within a few tens of percent; the per-electron rate within 5 %
    assert tot.max() / tot.min() < 1.3
    per_e = tot / el.effective_electrons(T * u.keV, shells)
    assert per_e.max() / per_e.min() < 1.05
    assert set(r) == set(fluxes.names) | {"total"}


def test_rate_steps_at_shell_edges(fluxes, shells):
    """The rate jumps by the Z_eff ratio across each edge (3s: 42 -> 44; 3d5/2: 26 -> 32)."""
    for edge_eV, below, above in [(1170.5, 42, 44), (649.9, 26, 32), (71.7, 8, 14)]:
        T = np.array([edge_eV - 0.05, edge_eV + 0.05]) * 1e-3
        tot = el.differential_rate(T, fluxes, shells, N_XE)["total"]
        assert tot[1] / tot[0] == pytest.approx(above / below, rel=1e-4)


def test_no_oscillation_option_and_validation(fluxes, shells):
    T = np.array([2.0])
    osc = el.differential_rate(T, fluxes, shells, N_XE)["total"]
    noosc = el.differential_rate(T, fluxes, shells, N_XE, oscillations=False)["total"]
    # nu_e has the larger cross section, so removing oscillations raises the rate
    assert noosc[0] > osc[0]
    with pytest.raises(ValueError, match="T_keV"):
        el.differential_rate(np.array([-1.0]), fluxes, shells, N_XE)
    with pytest.raises(ValueError, match="targets_per_tonne"):
        el.differential_rate(T, fluxes, shells, 0.0)


def test_flux_moments_split_sums_to_unweighted(fluxes):
    comp = fluxes["pp"]
    T = np.array([1e-3, 1e-2])
    m = el.flux_moments(T, comp, fluxes.survival_probability(comp))
    full = comp.tail_moments(el.e_nu_min(T), powers=(0, 1, 2))
    assert m.nu_e + m.nu_x == pytest.approx(full, rel=1e-12)
    assert m.nu_e.shape == (3, 2)
