"""CEvNS: charges, form factors, kinematics and the XENONnT 8B reference rate."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from nufog import cevns, nuclei
from nufog import units as u
from nufog.solar import load_solar_fluxes


def test_weak_charge_xe132_tree_level():
    # Q_W = N - (1 - 4 s_W^2) Z = 78 - (1 - 0.95428) 54
    assert nuclei.weak_charge(54, 78) == pytest.approx(78 - (1 - 4 * 0.23857) * 54, rel=1e-14)
    assert nuclei.weak_charge(54, 78) == pytest.approx(75.53112, rel=1e-6)
    assert nuclei.vector_charge(54, 78) == pytest.approx(-nuclei.weak_charge(54, 78) / 2)


@pytest.mark.parametrize("ff", ["helm", "klein_nystrand"])
def test_form_factors_normalised_and_falling(ff):
    q = np.array([0.0, 1e-4, 10.0, 50.0, 100.0])
    f = nuclei.form_factor(ff, q, 132)
    assert f[0] == 1.0 and f[1] == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.diff(f[:4]) < 0)


def test_helm_against_closed_form_small_q():
    # F(q) ~ 1 - q^2 <r^2>/6 with <r^2> = 3/5 r_n^2 + 3 s^2 for the Helm profile
    A = 132
    s, a = 0.9, 0.52
    c = 1.23 * A ** (1 / 3) - 0.60
    rn2 = c**2 + 7 / 3 * np.pi**2 * a**2 - 5 * s**2
    r2 = (0.6 * rn2 + 3 * s**2) / u.HBARC_MEV_FM**2  # MeV^-2
    q = np.array(2.0)  # MeV, q^2 r^2 ~ 1e-3
    assert nuclei.helm_form_factor(q, A) == pytest.approx(1 - q**2 * r2 / 6, rel=1e-6)


def test_kinematics_eq4():
    M = 122_000.0
    e_r = np.array([1e-3, 5e-3])
    e_min = cevns.e_nu_min(e_r, M)
    assert_allclose(cevns.e_r_max(e_min, M), e_r, rtol=1e-14)
    # at E_nu = E_min the cross section vanishes; slightly below it is zero
    xs = cevns.dsigma_dER(e_r, e_min * np.array([1.0 + 1e-9, 0.999]), 54, 78, M)
    assert xs[1] == 0.0 and xs[0] >= 0.0


def test_rate_matches_quadrature(fluxes, xenon):
    """Moment method against a direct integral over E_nu for one isotope and the 8B flux."""
    comp = fluxes["8B"]
    iso = xenon.isotopes[6]  # 132Xe
    one = nuclei.Target("Xe132", (nuclei.Isotope(iso.A, iso.Z, 1.0, iso.mass_MeV),), iso.mass_MeV / u.AMU_MEV)
    e_r_keV = np.array([0.5, 1.0, 3.0])  # E_min(3 keV) = 13.6 MeV, below the 8B endpoint
    got = cevns.differential_rate(e_r_keV, one, [comp])["total"]
    norm = one.nuclei_per_tonne()[0] * u.SECONDS_PER_YEAR * u.keV
    for k, e_r in enumerate(e_r_keV * u.keV):
        e_min = float(cevns.e_nu_min(e_r, iso.mass_MeV))
        # dense Simpson on the interpolated spectrum (quad struggles with its kinks)
        e_nu = np.linspace(e_min, comp.endpoint_MeV, 400_001)
        ref = integrate.simpson(comp.spectrum(e_nu) * cevns.dsigma_dER(e_r, e_nu, iso.Z, iso.N, iso.mass_MeV), x=e_nu)
        assert got[k] / (ref * norm) == pytest.approx(1.0, rel=1e-4)


def test_no_rate_above_kinematic_endpoint(fluxes, xenon):
    m_light = min(i.mass_MeV for i in xenon.isotopes)
    e_max_keV = float(cevns.e_r_max(fluxes["hep"].endpoint_MeV, m_light)) / u.keV
    rates = cevns.differential_rate(np.array([e_max_keV * 1.01, 2 * e_max_keV]), xenon, fluxes.components)
    assert np.all(rates["total"] == 0.0)
    pep_max = float(cevns.e_r_max(1.442, m_light)) / u.keV
    assert cevns.differential_rate(np.array([pep_max * 1.01]), xenon, [fluxes["pep"]])["total"][0] == 0.0


def test_xenonnt_8b_reference_rate(solar_files, xenon):
    """physics.md: with Phi(8B) = 5.25e6 the rate above 0.45 keV_nr is 335.6 / (t yr) (XENONnT), 3 %."""
    s = load_solar_fluxes(solar_files, b8_flux_cm2_s=5.25e6)
    e = np.geomspace(0.45, 60.0, 3000)
    rate = np.trapezoid(cevns.differential_rate(e, xenon, [s["8B"]])["total"], e)
    assert rate == pytest.approx(335.6, rel=0.03)


def test_kernel_rejects_bad_grid(xenon, fluxes):
    with pytest.raises(ValueError, match="positive"):
        cevns.RecoilKernel.build(np.array([-1.0, 1.0]), xenon, fluxes.components)
    with pytest.raises(ValueError, match="non-empty"):
        cevns.RecoilKernel.build(np.array([]), xenon, fluxes.components)


def test_total_cross_section_closed_form():
    """Integrated over recoils with F = 1: sigma = G_F^2 Q_W^2 E_nu^2 / (4 pi) (Freedman 1974)."""
    M, e_nu = 122_000.0, 1.0  # 1 MeV: q_max = 2 MeV, F^2 = 1 - O(1e-4)
    e_r = np.linspace(0.0, float(cevns.e_r_max(e_nu, M)), 100_001)
    sigma = integrate.simpson(cevns.dsigma_dER(e_r, np.array(e_nu), 54, 78, M), x=e_r)
    closed = u.G_F**2 * nuclei.weak_charge(54, 78) ** 2 * e_nu**2 / (4 * np.pi) * u.MEV2_TO_CM2
    # ratios: pytest.approx's default abs=1e-12 would make any comparison of ~1e-41 cm^2 vacuous
    # Helm F^2 at q <= 2 MeV lowers the integral by ~(q r)^2/12 ~ 3e-4 on average
    assert sigma / closed == pytest.approx(1.0, rel=1e-3)
    assert sigma / closed < 1.0
    # textbook size: 4.2e-45 cm^2 x Q_W^2 (E/MeV)^2 -> 2.4e-41 cm^2 for 132Xe at 1 MeV
    assert closed / (4.2e-45 * 75.53**2) == pytest.approx(1.0, rel=0.02)
