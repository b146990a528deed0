"""Tests of nufog.migdal: Migdal ionisation in xenon (physics.md sections 2.2 and 7)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from nufog import migdal as mg
from nufog import units as u
from nufog.quenching import lindhard_factor

from ..conftest import data_path


@pytest.fixture(scope="module")
def table() -> mg.IbeTable:
    return mg.read_ibe_table(data_path("migdal/migdal_transition_Xe.csv"))


M_XE131 = 130.905082 * u.AMU_MEV - 54 * u.M_E  # nuclear mass [MeV]
M_XE132 = 131.904154 * u.AMU_MEV - 54 * u.M_E
A0_EV_INV = 1.0 / (u.ALPHA_EM * u.M_E / u.eV)  # Bohr radius in eV^-1


def total_probability(table, orbital, E_R_MeV, M_MeV):
    """integral dP/dE_e dE_e over the table range, by trapezoid in ln E_e on a fine grid."""
    e = np.geomspace(table.energy_MeV[0], table.energy_MeV[-1], 20001)
    f = mg.ionisation_probability_density(e, E_R_MeV, M_MeV, orbital, table)
    return np.trapezoid(f * e, np.log(e))


# --- table ---------------------------------------------------------------------------------------


def test_read_table(table):
    assert table.orbitals == ("1_0", "2_0", "2_1", "3_0", "3_1", "3_2", "4_0", "4_1", "4_2", "5_0", "5_1")
    assert table.energy_MeV.size == 251
    assert table.energy_MeV[0] == pytest.approx(1.0 * u.eV)
    assert table.energy_MeV[-1] == pytest.approx(70.0 * u.keV)
    # first row of the CSV: 4_2 = 0.21157779E-08 per eV at E = 1 eV
    assert table.density_per_MeV["4_2"][0] == pytest.approx(0.21157779e-08 / u.eV, rel=1e-12)


def test_binding_energies_ibe_table2():
    assert mg.BINDING_EV_IBE["4_2"] == 61.0
    assert mg.BINDING_EV_IBE["3_0"] == 1.1e3
    assert set(mg.DEFAULT_ORBITALS) == {"3_0", "3_1", "3_2", "4_0", "4_1", "4_2"}


# --- normalisation (the 2 pi convention) ---------------------------------------------------------------

#: Hartree-Fock <r^2> of the xenon orbitals [a0^2], computed here (not taken from the Migdal table):
#: pyscf 2.14, closed-shell Xe atom, ANO-RCC basis. Non-relativistic RHF with the basis uncontracted
#: (E = -7232.1321 Ha against the numerical HF limit -7232.1383 Ha) and scalar-relativistic X2C-RHF
#: with the contracted basis (E = -7443.49 Ha; orbital energies 4d -72.6, 3d -700, 5p -12.4 eV,
#: matching the binding energies); the larger of the two values is listed.
#:   1s 0.0011/0.0009, 2s 0.0172/0.0154, 2p 0.0129/0.0122, 3s 0.1159/0.1062, 3p 0.1108/0.1064,
#:   3d 0.0926/0.0925, 4s 0.6257/0.5804, 4p 0.6856/0.6647, 4d 0.8810/0.8942, 5s 4.448/4.121,
#:   5p 6.278/6.165  (nonrel/X2C).
HF_R2_A0SQ = {
    "1_0": 0.0011, "2_0": 0.0172, "2_1": 0.0129, "3_0": 0.1159, "3_1": 0.1108, "3_2": 0.0926,
    "4_0": 0.6257, "4_1": 0.6856, "4_2": 0.8942, "5_0": 4.448, "5_1": 6.278,
}  # fmt: skip
OCCUPANCY = {
    "1_0": 2,
    "2_0": 2,
    "2_1": 6,
    "3_0": 2,
    "3_1": 6,
    "3_2": 10,
    "4_0": 2,
    "4_1": 6,
    "4_2": 10,
    "5_0": 2,
    "5_1": 6,
}


def test_two_pi_convention_dipole_sum_rule(table):
    """The 1/(2 pi) of Eq. (5) is required by the dipole (Thomas-Reiche-Kuhn-like) sum rule.

    For small q_e, |<f| exp(i q_e.x) |i>|^2 = q_e^2 |<f|z|i>|^2, and the closure relation bounds
    the sum over all final states of one electron by q_e^2 (<i|z^2|i> - <i|z|i>^2) = q_e^2 <r^2>/3
    (closed shell, spherically symmetric). Summed over the N_nl electrons of the orbital, and
    restricted to continuum final states below 70 keV, the total ionisation probability obeys

        P_nl(q_e) / (q_e / 1 eV)^2 <= N_nl <r^2>_nl / 3   [in eV^-2],

    a bound independent of the Migdal table. With the 1/(2 pi) the table gives (in a0^2, with
    a0 = 1/(alpha m_e) = 2.68e-4 eV^-1): 3d 0.190, 4d 1.93, 5p 4.16 against bounds 0.309, 2.98, 12.6
    (all 11 orbitals satisfy it). Without it the same numbers are 1.20, 12.1, 26.1: the 3d, 4d and
    5p shells (and 1s, 2p) would exceed their Hartree-Fock bound by factors 3.9, 4.1, 2.1.
    """
    E_R = 10 * u.keV
    q_ev = float(mg.electron_momentum(E_R, M_XE131) / u.eV)
    for orb in table.orbitals:
        dipole_sum = total_probability(table, orb, E_R, M_XE131) / q_ev**2 / A0_EV_INV**2  # a0^2
        bound = OCCUPANCY[orb] * HF_R2_A0SQ[orb] / 3.0
        assert 0 < dipole_sum < bound, orb
    for orb, expect in [("3_2", 0.190), ("4_2", 1.93), ("5_1", 4.16)]:
        dipole_sum = total_probability(table, orb, E_R, M_XE131) / q_ev**2 / A0_EV_INV**2
        assert dipole_sum == pytest.approx(expect, rel=0.01)
        # without the 1/(2 pi) the bound would be violated
        assert 2 * np.pi * dipole_sum > 2 * OCCUPANCY[orb] * HF_R2_A0SQ[orb] / 3.0


def test_total_probability_at_v_1e3(table):
    """q_e = m_e v with v = 1e-3 (511 eV): n = 3 and n = 4 ionisation probabilities.

    Raw-table integrals (trapezoid on the CSV grid) / (2 pi) * 511^2: 3s 1.11e-4, 3p 6.04e-4,
    3d 3.57e-3 (n = 3: 4.29e-3); 4s 3.55e-4, 4p 1.47e-3, 4d 3.62e-2 (n = 4: 3.80e-2).
    """
    v = 1e-3
    E_R = 0.5 * M_XE131 * v**2  # q_e = m_e v exactly
    assert float(mg.electron_momentum(E_R, M_XE131)) == pytest.approx(u.M_E * v, rel=1e-12)
    p = {o: total_probability(table, o, E_R, M_XE131) for o in mg.DEFAULT_ORBITALS}
    n3 = p["3_0"] + p["3_1"] + p["3_2"]
    n4 = p["4_0"] + p["4_1"] + p["4_2"]
    assert n3 == pytest.approx(4.29e-3, rel=0.01)
    assert n4 == pytest.approx(3.80e-2, rel=0.01)
    for o in mg.DEFAULT_ORBITALS:
        assert np.isfinite(p[o]) and p[o] > 0


def test_probability_hand_computation(table):
    """One value by hand from the raw CSV, checking the q_e^2/(2 pi) factor and the 1/eV -> 1/MeV."""
    # CSV row 2: E = 0.10456357E+01 eV, 4_2 = 0.21242818E-08 /eV. Choose E_R so that q_e = 100 eV.
    q = 100 * u.eV
    E_R = q**2 * M_XE131 / (2 * u.M_E**2)
    got = float(mg.ionisation_probability_density(1.0456357 * u.eV, E_R, M_XE131, "4_2", table))
    hand = 100.0**2 / (2 * np.pi) * 0.21242818e-08 * 1e6  # per MeV
    assert got == pytest.approx(hand, rel=1e-9)
    assert hand == pytest.approx(3.3809e-3 * 1e3, rel=1e-4)
    # between nodes: log-log interpolation of rows 1 and 2
    e1, p1, e2, p2 = 1.0, 0.21157779e-08, 1.0456357, 0.21242818e-08
    em = np.sqrt(e1 * e2)
    pm = np.sqrt(p1 * p2)
    got_m = float(mg.ionisation_probability_density(em * u.eV, E_R, M_XE131, "4_2", table))
    assert got_m == pytest.approx(100.0**2 / (2 * np.pi) * pm * 1e6, rel=1e-9)


def test_probability_scales_as_q_squared(table):
    e = np.geomspace(2 * u.eV, 50 * u.keV, 9)
    p1 = mg.ionisation_probability_density(e, 1 * u.keV, M_XE131, "3_2", table)
    p2 = mg.ionisation_probability_density(e, 2 * u.keV, M_XE131, "3_2", table)
    p3 = mg.ionisation_probability_density(e, 1 * u.keV, 2 * M_XE131, "3_2", table)
    assert p2 == pytest.approx(2 * p1, rel=1e-12, abs=0)  # q_e^2 ~ E_R
    assert p3 == pytest.approx(0.5 * p1, rel=1e-12, abs=0)  # q_e^2 ~ 1/M
    # zero outside the table
    out = mg.ionisation_probability_density(np.array([0.5 * u.eV, 71 * u.keV]), 1 * u.keV, M_XE131, "3_2", table)
    assert out.tolist() == [0.0, 0.0]


# --- rates ----------------------------------------------------------------------------------------------


def _recoil_spectrum(e_r):
    """A smooth toy CEvNS-like spectrum [per t yr keV_nr] with an endpoint at 4 keV_nr."""
    return 100.0 * np.exp(-e_r / 0.8) * (e_r < 4.0)


E_R_GRID = np.linspace(0.0, 5.0, 5001)


def test_energy_conservation_edges(table):
    rates = _recoil_spectrum(E_R_GRID)[None, :]
    q_nr = 0.15
    # lowest: E_det = q E_R + E_e + E_nl >= 61 eV (4d) + 1 eV (table starts at E_e = 1 eV)
    low = np.array([0.0, 0.030, 0.0619])
    assert mg.differential_rate(low, E_R_GRID, rates, [M_XE131], table).tolist() == [0.0, 0.0, 0.0]
    assert mg.differential_rate(np.array([0.0625]), E_R_GRID, rates, [M_XE131], table)[0] > 0
    # highest: q E_R,max + E_e,max + E_nl,max = 0.15 * 4 + 70 + 1.1 keV
    e_top = q_nr * 4.0 + 70.0 + 1.1
    hi = mg.differential_rate(np.array([e_top - 0.5, e_top + 0.01, 100.0]), E_R_GRID, rates, [M_XE131], table)
    assert hi[0] > 0 and hi[1] == 0 and hi[2] == 0
    # a single orbital starts at its own binding energy: 3d at 660 eV
    r3d = mg.differential_rate(np.array([0.660, 0.662]), E_R_GRID, rates, [M_XE131], table, orbitals=["3_2"])
    assert r3d[0] == 0 and r3d[1] > 0


def test_linearity_and_isotope_sum(table):
    r = _recoil_spectrum(E_R_GRID)
    e_det = np.geomspace(0.07, 20, 50)
    one = mg.differential_rate(e_det, E_R_GRID, r[None, :], [M_XE131], table)
    two = mg.differential_rate(e_det, E_R_GRID, 2 * r[None, :], [M_XE131], table)
    assert two == pytest.approx(2 * one, rel=1e-12)
    # isotopes add, each with its own mass in q_e^2 (a 1-d rate is one isotope)
    both = mg.differential_rate(e_det, E_R_GRID, np.vstack([0.3 * r, 0.7 * r]), [M_XE131, M_XE132], table)
    sep = mg.differential_rate(e_det, E_R_GRID, 0.3 * r, [M_XE131], table) + mg.differential_rate(
        e_det, E_R_GRID, 0.7 * r, [M_XE132], table
    )
    assert both == pytest.approx(sep, rel=1e-12)
    # several spectra at once (one per flux component): bit for bit each spectrum on its own
    spectra = np.stack([np.vstack([0.3 * r, 0.7 * r]), np.vstack([r, 0.0 * r]), np.vstack([0.0 * r, 2.0 * r])])
    batch = mg.differential_rate(e_det, E_R_GRID, spectra, [M_XE131, M_XE132], table)
    assert batch.shape == (3, e_det.size)
    masses = [M_XE131, M_XE132]
    for k in range(3):
        np.testing.assert_array_equal(batch[k], mg.differential_rate(e_det, E_R_GRID, spectra[k], masses, table))
    np.testing.assert_array_equal(batch[0], both)
    assert batch[1] == pytest.approx(one, rel=1e-12)  # the second isotope has no rate
    assert batch[2] == pytest.approx(2 * mg.differential_rate(e_det, E_R_GRID, r, [M_XE132], table), rel=1e-12)
    # a constant quenching given as a number or as a callable is the same
    f = mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table, quenching=lambda e: 0.15 * np.ones_like(e))
    assert f == pytest.approx(one, rel=1e-12)


def test_delta_recoil_gives_shifted_orbital_spectra(table):
    """All the rate in one E_R node: output = R0 * sum_nl dP_nl/dE_e(E_det - q E_R0 - E_nl)."""
    j = 2000
    e_r0 = E_R_GRID[j]  # 2 keV_nr
    h = E_R_GRID[1] - E_R_GRID[0]
    rates = np.zeros_like(E_R_GRID)
    rates[j] = 5.0 / h  # trapezoid integral = 5 events / (t yr)
    e_det = np.geomspace(0.05, 72.0, 300)
    q = lindhard_factor(e_r0)
    got = mg.differential_rate(e_det, E_R_GRID, rates, [M_XE131], table, quenching=lindhard_factor)
    direct = np.zeros_like(e_det)
    for orb in mg.DEFAULT_ORBITALS:
        e_e = (e_det - q * e_r0 - mg.BINDING_EV_IBE[orb] * 1e-3) * u.keV
        direct += 5.0 * mg.ionisation_probability_density(np.clip(e_e, 0, None), e_r0 * u.keV, M_XE131, orb, table)
    direct *= u.keV  # per MeV -> per keV
    assert got == pytest.approx(direct, rel=1e-10, abs=0)


def test_matrix_product_against_quadrature(table):
    """The trapezoid product agrees with an adaptive quad over E_R for a smooth spectrum."""
    grid = np.linspace(0.0, 4.0, 40001)
    rates = _recoil_spectrum(grid)
    e_det = np.array([0.1, 0.3, 0.8, 1.5, 5.0])
    got = mg.differential_rate(e_det, grid, rates, [M_XE131], table, orbitals=["4_2", "3_2"])
    for e, g in zip(e_det, got, strict=True):
        ref = 0.0
        for orb in ("4_2", "3_2"):
            top = (e - mg.BINDING_EV_IBE[orb] * 1e-3 - 1e-3 * 1.0) / 0.15  # E_e = 1 eV edge
            if top <= 0:
                continue

            def f(er, orb=orb, e=e):
                e_e = (e - 0.15 * er - mg.BINDING_EV_IBE[orb] * 1e-3) * u.keV
                return float(
                    _recoil_spectrum(np.array(er))
                    * mg.ionisation_probability_density(e_e, er * u.keV, M_XE131, orb, table)
                )

            hi = min(top, 4.0)
            # the log-log interpolation has kinks at the table nodes: tell quad where they are
            nodes = (e - mg.BINDING_EV_IBE[orb] * 1e-3 - table.energy_MeV / u.keV) / 0.15
            nodes = nodes[(nodes > 0) & (nodes < hi)]
            val, _ = integrate.quad(f, 0.0, hi, points=nodes, limit=4 * nodes.size + 200)
            ref += val * u.keV
        assert g == pytest.approx(ref, rel=2e-3)


def test_orbitals_configurable_and_validated(table):
    r = _recoil_spectrum(E_R_GRID)
    e_det = np.array([0.2, 1.0])
    full = mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table)
    parts = sum(mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table, orbitals=[o]) for o in mg.DEFAULT_ORBITALS)
    assert full == pytest.approx(parts, rel=1e-12)
    with_n5 = mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table, orbitals=mg.DEFAULT_ORBITALS + ("5_1",))
    assert np.all(with_n5 > full)
    with pytest.raises(ValueError, match=r"unknown Migdal orbital\(s\) \['6_0'\]; allowed: \['1_0'"):
        mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table, orbitals=["4_2", "6_0"])


def test_input_validation(table):
    r = _recoil_spectrum(E_R_GRID)
    with pytest.raises(ValueError, match="rate_per_isotope has shape"):
        mg.differential_rate([1.0], E_R_GRID, np.vstack([r, r]), [M_XE131], table)
    with pytest.raises(ValueError, match="e_det_keV"):
        mg.differential_rate([-1.0], E_R_GRID, r, [M_XE131], table)
    with pytest.raises(ValueError, match="strictly increasing"):
        mg.differential_rate([1.0], E_R_GRID[::-1], r, [M_XE131], table)
    with pytest.raises(ValueError, match="E_R_MeV"):
        mg.electron_momentum(-1.0, M_XE131)
    with pytest.raises(ValueError, match="Lindhard"):
        lindhard_factor(1.0, k=0.0)


def test_lindhard_quenching():
    """By hand at 1 keV: eps = 11.5 * 54^(-7/3) = 1.0434e-3, g = 3 eps^0.15 + 0.7 eps^0.6 + eps
    = 1.0712 + 0.0114 + 0.0010 = 1.0836, L = 0.166 g / (1 + 0.166 g) = 0.1799 / 1.1799 = 0.1525."""
    eps = 11.5 * 54 ** (-7 / 3)
    assert eps == pytest.approx(1.0434e-3, rel=1e-3)
    assert float(lindhard_factor(1.0)) == pytest.approx(0.1525, abs=2e-4)
    e = np.array([0.5, 1.0, 5.0, 20.0])
    L = lindhard_factor(e)
    assert np.all(np.diff(L) > 0) and np.all((L > 0.1) & (L < 0.3))


def test_blocked_evaluation_matches(table, monkeypatch):
    """Splitting the detected-energy axis into blocks (memory bound) does not change the result."""
    r = _recoil_spectrum(E_R_GRID)
    e_det = np.geomspace(0.07, 20, 37)
    whole = mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table)
    monkeypatch.setattr(mg, "_MAX_MATRIX_ELEMENTS", 5 * E_R_GRID.size)  # blocks of 5 rows
    assert mg.differential_rate(e_det, E_R_GRID, r, [M_XE131], table) == pytest.approx(whole, rel=1e-14)
