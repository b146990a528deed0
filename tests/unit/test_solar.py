"""Solar fluxes: normalisations, shapes, lines, moments and the MSW survival probability."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from nufog.solar import (
    FluxComponent,
    OscillationParameters,
    load_solar_fluxes,
    read_b16_totals,
    survival_probability_msw,
)

# B16-GS98 totals, Vinyoles et al. 2017 Table 6 (typed independently of the file) [cm^-2 s^-1]
B16_GS98 = {
    "pp": 5.98e10,
    "pep": 1.44e8,
    "hep": 7.98e3,
    "7Be": 4.93e9,
    "8B": 5.46e6,
    "13N": 2.78e8,
    "15O": 2.05e8,
    "17F": 5.28e6,
}


def test_b16_totals_match_published_table(solar_files):
    totals = read_b16_totals(solar_files["fluxes_b16"])
    for name, value in B16_GS98.items():
        assert totals[name] == pytest.approx(value, rel=1e-12)
    agss = read_b16_totals(solar_files["fluxes_b16"], "AGSS09")
    assert agss["8B"] == pytest.approx(4.50e6)


def test_each_component_integrates_to_its_b16_total(fluxes):
    for comp in fluxes:
        key = "7Be" if comp.name.startswith("7Be") else comp.name
        expected = B16_GS98[key] * ({"7Be_862": 0.8956, "7Be_384": 0.1044}.get(comp.name, 1.0))
        assert comp.total() == pytest.approx(expected, rel=1e-9), comp.name
        if not comp.is_line:
            # the normalised shape integrates to 1 (independent quadrature on the raw grid)
            assert np.trapezoid(comp.shape_per_MeV, comp.energy_MeV) == pytest.approx(1.0, rel=1e-12)


def test_lines_are_lines(fluxes):
    assert fluxes["pep"].is_line and fluxes["pep"].energy_MeV[0] == 1.442
    assert fluxes["7Be_862"].is_line and fluxes["7Be_862"].energy_MeV[0] == 0.8613
    assert fluxes["7Be_384"].is_line and fluxes["7Be_384"].energy_MeV[0] == 0.3843
    # a line contributes fully below its energy and nothing above
    m = fluxes["pep"].tail_moments(np.array([1.0, 1.442, 1.5]), powers=(0, 2))
    assert_allclose(m[0], [1.44e8, 1.44e8, 0.0])
    assert_allclose(m[1], [1.44e8 / 1.442**2, 1.44e8 / 1.442**2, 0.0])


def test_endpoints(fluxes):
    assert fluxes["pp"].endpoint_MeV == pytest.approx(0.42341)
    assert 16.0 < fluxes["8B"].endpoint_MeV <= 16.56
    assert fluxes["hep"].endpoint_MeV == pytest.approx(18.784)
    for comp in fluxes:
        assert comp.tail_moments(np.array([comp.endpoint_MeV * 1.001]), powers=(0,))[0, 0] == 0.0


@pytest.mark.parametrize("p", [0, 1, 2])
def test_tail_moments_match_quadrature(fluxes, p):
    comp = fluxes["8B"]
    for e_min in (0.5, 5.0, 12.0):
        e = np.linspace(e_min, comp.endpoint_MeV, 200_001)
        ref = integrate.simpson(comp.spectrum(e) * e ** (-p), x=e)
        got = comp.tail_moments(np.array([e_min]), powers=(p,))[0, 0]
        assert got == pytest.approx(ref, rel=2e-4)


def test_weighted_moment_uses_weight(fluxes):
    comp = fluxes["8B"]
    half = comp.tail_moments(np.array([1.0]), powers=(0,), weight=lambda e: 0.5 * np.ones_like(e))
    full = comp.tail_moments(np.array([1.0]), powers=(0,))
    assert_allclose(half, 0.5 * full, rtol=1e-14)


@pytest.mark.parametrize("name", ["8B", "7Be_862"])  # a continuum and a line
def test_split_moments_are_the_two_weighted_moments_with_one_weight_call(fluxes, name):
    """split_tail_moments gives, bit for bit, the moments with P_ee and with 1 - P_ee (the nu_e and nu_x
    parts of the electron-scattering rate), evaluating P_ee once; their sum is the unweighted moment."""
    comp, pee = fluxes[name], fluxes.survival_probability(fluxes[name])
    calls = []

    def counted(e):
        calls.append(e.size)
        return pee(e)

    e_min = np.array([0.1, 0.5, 2.0, 9.0])
    nu_e, nu_x = comp.split_tail_moments(e_min, (0, 1, 2), counted)
    assert len(calls) == 1
    np.testing.assert_array_equal(nu_e, comp.tail_moments(e_min, (0, 1, 2), pee))
    np.testing.assert_array_equal(nu_x, comp.tail_moments(e_min, (0, 1, 2), lambda e: 1.0 - pee(e)))
    assert_allclose(nu_e + nu_x, comp.tail_moments(e_min, (0, 1, 2)), rtol=1e-12)
    assert 0.25 < nu_e[0, 0] / (nu_e[0, 0] + nu_x[0, 0]) < 0.6  # P_ee between the matter and vacuum values


def test_winter_shape_is_harder_than_bahcall(solar_files):
    """physics.md: Winter 2006 is 3-11 % harder above 10 MeV."""
    b = load_solar_fluxes(solar_files, b8_shape="bahcall1996")["8B"]
    w = load_solar_fluxes(solar_files, b8_shape="winter2006")["8B"]
    ratio = w.tail_moments(np.array([10.0]), powers=(0,))[0, 0] / b.tail_moments(np.array([10.0]), powers=(0,))[0, 0]
    assert 1.02 < ratio < 1.12


def test_b8_flux_override(solar_files):
    s = load_solar_fluxes(solar_files, b8_flux_cm2_s=5.25e6)
    assert s["8B"].total() == pytest.approx(5.25e6)
    with pytest.raises(ValueError, match="b8_flux_cm2_s"):
        load_solar_fluxes(solar_files, b8_flux_cm2_s=-1.0)


def test_pee_vacuum_and_matter_limits():
    osc = OscillationParameters()
    c13, s13 = 1 - osc.sin2_theta13, osc.sin2_theta13
    s12 = osc.sin2_theta12
    # low energy: vacuum-averaged P = c13^4 (1 - 2 s12 c12) + s13^4
    vac = c13**2 * (1 - 0.5 * (4 * s12 * (1 - s12))) + s13**2
    assert survival_probability_msw(np.array(1e-6), np.array(6e25)) == pytest.approx(vac, rel=1e-6)
    # high energy, dense core: full MSW conversion, P -> c13^4 s12^2 + s13^4
    assert survival_probability_msw(np.array(1e4), np.array(6e25)) == pytest.approx(c13**2 * s12 + s13**2, rel=1e-3)


def test_pee_averaged_over_production_zone(fluxes):
    pee_8b = fluxes.survival_probability(fluxes["8B"])
    pee_pp = fluxes.survival_probability(fluxes["pp"])
    # 8B at 10 MeV is well in the MSW regime (Borexino/SNO: ~0.3); pp at 0.3 MeV vacuum-like (~0.55)
    assert 0.29 < float(pee_8b(np.array([10.0]))[0]) < 0.36
    assert 0.53 < float(pee_pp(np.array([0.3]))[0]) < 0.56
    # 8B is produced deeper (denser) than pp: at the same energy its P_ee is lower
    assert pee_8b(np.array([5.0]))[0] < pee_pp(np.array([5.0]))[0]


def test_invalid_components_rejected():
    with pytest.raises(ValueError, match="flux"):
        FluxComponent("x", -1.0, np.array([1.0]), None, "pp")
    with pytest.raises(ValueError, match="increasing"):
        FluxComponent("x", 1.0, np.array([2.0, 1.0]), np.array([1.0, 1.0]), "pp")


def test_unknown_options_rejected(solar_files):
    with pytest.raises(ValueError, match="b8_shape"):
        load_solar_fluxes(solar_files, b8_shape="ortiz")
    with pytest.raises(ValueError, match="ssm"):
        load_solar_fluxes(solar_files, ssm="B23")
    with pytest.raises(ValueError, match="unknown solar components"):
        load_solar_fluxes(solar_files, components=["pp", "CNO"])


def test_broadened_be7_matches_lines(solar_files):
    """Bahcall's thermal 7Be shapes: same flux, centroid 1.29 keV above the lab line (Bahcall 1994),
    so the E^-2 moments differ from the delta lines by 2 dE/E (0.3 % and 0.7 %)."""
    line = load_solar_fluxes(solar_files)
    wide = load_solar_fluxes(solar_files, be7_shape="broadened")
    for name, e0 in (("7Be_862", 0.8613), ("7Be_384", 0.3843)):
        assert not wide[name].is_line
        assert wide[name].total() == pytest.approx(line[name].total(), rel=1e-9)
        mean = np.trapezoid(wide[name].energy_MeV * wide[name].shape_per_MeV, wide[name].energy_MeV)
        assert 1.1e-3 < mean - e0 < 1.5e-3  # MeV: the thermal shift
        e_min = np.array([0.5 * e0])
        m_wide = wide[name].tail_moments(e_min, powers=(0, 2))
        m_line = line[name].tail_moments(e_min, powers=(0, 2))
        assert m_wide[0, 0] == pytest.approx(m_line[0, 0], rel=1e-9)
        assert m_wide[1, 0] / m_line[1, 0] == pytest.approx((e0 / mean) ** 2, rel=2e-4)
    with pytest.raises(ValueError, match="be7_shape"):
        load_solar_fluxes(solar_files, be7_shape="gaussian")
