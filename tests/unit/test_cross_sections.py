"""Every cross section and rate conversion against an independent number (issue 8, section 5).

The reference numbers here do not call the library's formulas: each equation of physics.md
(sections 2 and 3) is typed again below in plain numpy/scipy, with its own constants, and the
library is compared with it (pointwise, by quadrature, by a closed form or by a limiting case).
Tolerances are 1e-9 to 1e-4, so a factor 2 in any prefactor, charge, kinematic factor, form factor,
normalisation, Jacobian or fold fails. ``tools/mutation_check.py`` proves it mutation by mutation.

Synthetic inputs keep the closed forms exact and the tests fast: one 132Xe nucleus per formula
unit, a mono-energetic line and a flat ("box") continuum as fluxes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf, spherical_jn

from nufog import cevns, electron, mediators, quenching
from nufog.experiments import Efficiency, Experiment, fold
from nufog.nuclei import Isotope, Target
from nufog.solar import FluxComponent

from ..conftest import DATA_OR_MISSING

# --- constants, typed independently of nufog.units (PDG 2024; physics.md section 1) ---------------
G_F = 1.1663788e-11  # MeV^-2
SIN2W = 0.23857
HBARC_CM = 1.973269804e-11  # MeV cm
HBARC_FM = 197.3269804  # MeV fm
MEV2_TO_CM2 = HBARC_CM**2
N_A = 6.02214076e23
SECONDS_PER_YEAR = 365.25 * 86400.0
KEV = 1e-3  # MeV
M_E = 0.51099895
M_P, M_N = 938.27208816, 939.56542052
AMU = 931.49410242
V_HIGGS = 246.22e3
QUARK = {"u": 2.16, "d": 4.67, "s": 93.4, "c": 1270.0, "b": 4180.0, "t": 172700.0}
F_T = {"p": {"u": 0.0208, "d": 0.0411, "s": 0.043}, "n": {"u": 0.0189, "d": 0.0451, "s": 0.043}}

# --- synthetic target and fluxes -----------------------------------------------------------------
A, Z, N = 132, 54, 78
MOLAR_G = 131.904154
M_NUC = MOLAR_G * AMU - Z * M_E  # nuclear mass [MeV]
NUCLEI_PER_TONNE = 1e6 / MOLAR_G * N_A
XE132 = Target("Xe132", (Isotope(A, Z, 1.0, M_NUC),), MOLAR_G)
Q_V = (0.5 - 2 * SIN2W) * Z - 0.5 * N

E_LINE, PHI_LINE = 15.0, 2.0e6  # MeV, cm^-2 s^-1
E_BOX, PHI_BOX = (3.0, 18.0), 5.0e6
LINE = FluxComponent("line", PHI_LINE, np.array([E_LINE]), None, "pep")
BOX = FluxComponent("box", PHI_BOX, np.array(E_BOX), np.ones(2), "8B")
E_R_KEV = np.array([0.05, 0.3, 1.0, 2.0, 3.5, 6.0])  # 3.5 keV is near the line's endpoint 2 E^2/M = 3.66 keV


def helm(q_MeV, A_):
    """Helm F(q), Lewin-Smith parameters (physics.md 2.1), with scipy's j_1."""
    s, a = 0.9 / HBARC_FM, 0.52 / HBARC_FM
    c = (1.23 * A_ ** (1 / 3) - 0.60) / HBARC_FM
    r_n = np.sqrt(c**2 + 7 / 3 * np.pi**2 * a**2 - 5 * s**2)
    x = q_MeV * r_n
    return 3 * spherical_jn(1, x) / x * np.exp(-((q_MeV * s) ** 2) / 2)


def sm_dsigma(e_r, e_nu, q_v=Q_V, mass=M_NUC, A_=A):
    """physics.md 2.1: G_F^2 M/pi Q_V^2 (1 - M E_R/(2 E^2)) F^2 [cm^2/MeV], zero past the endpoint."""
    kin = 1 - mass * e_r / (2 * e_nu**2)
    f2 = helm(np.sqrt(2 * mass * e_r), A_) ** 2
    return np.where(kin > 0, G_F**2 * mass / np.pi * q_v**2 * kin * f2 * MEV2_TO_CM2, 0.0)


def flux_average(dsigma_of_e_nu, e_min):
    """integral dE Phi dsigma/dE over the line and the box (quadrature of the box)."""
    total = PHI_LINE * dsigma_of_e_nu(E_LINE) if E_LINE >= e_min else 0.0
    lo, hi = max(e_min, E_BOX[0]), E_BOX[1]
    if lo < hi:
        total += PHI_BOX / (E_BOX[1] - E_BOX[0]) * integrate.quad(dsigma_of_e_nu, lo, hi, epsrel=1e-11)[0]
    return total


PER_T_YR_KEV = SECONDS_PER_YEAR * KEV  # (events/s per MeV) -> (events/yr per keV)


@pytest.fixture(scope="module")
def kernel():
    return cevns.RecoilKernel.build(E_R_KEV, XE132, [LINE, BOX])


@pytest.fixture(scope="module")
def shells():
    return electron.read_binding_energies(DATA_OR_MISSING / "xenon" / "binding_xenon_SNuDD.csv")


def z_eff_from_csv(t_MeV):
    """Z_eff(T) = sum_i n_i Theta(T - B_i), read straight from the sub-shell CSV (physics.md 2.3)."""
    rows = np.genfromtxt(DATA_OR_MISSING / "xenon" / "binding_xenon_SNuDD.csv", delimiter=",", names=True, dtype=None)
    b_MeV = np.array([r[1] for r in rows], float) * 1e-6
    n = np.array([r[2] for r in rows], float)
    return np.array([n[b_MeV <= t].sum() for t in np.atleast_1d(t_MeV)])


# --- 2.1 CEvNS -------------------------------------------------------------------------------------


def test_cevns_dsigma_pointwise():
    """dsigma_dER against physics.md 2.1 typed here, including large q (F^2 ~ 0.4) and the endpoint."""
    e_r = np.array([1e-4, 1e-3, 5e-3, 3e-2, 3e-2])
    e_nu = np.array([5.0, 15.0, 30.0, 50.0, 100.0])
    got = cevns.dsigma_dER(e_r, e_nu, Z, N, M_NUC)
    assert got / sm_dsigma(e_r, e_nu) == pytest.approx(np.ones(5), rel=1e-10)
    assert helm(np.sqrt(2 * M_NUC * 3e-2), A) ** 2 < 0.6  # the form factor really matters at 30 keV
    # Klein-Nystrand differs: the option is honoured
    kn = cevns.dsigma_dER(e_r[-1], e_nu[-1], Z, N, M_NUC, ff="klein_nystrand")
    assert abs(kn / sm_dsigma(e_r[-1], e_nu[-1]) - 1) > 0.01
    # ``charge`` replaces Q_V, entering squared
    assert cevns.dsigma_dER(1e-3, 15.0, Z, N, M_NUC, charge=2 * Q_V) / sm_dsigma(1e-3, 15.0) == pytest.approx(4.0)


@pytest.mark.parametrize("e_nu", [1.0, 5.0])
def test_cevns_total_cross_section_closed_form(e_nu):
    """integral dE_R of Eq. 1 at F = 1: G_F^2 Q_W^2 E^2/(4 pi) = G_F^2 Q_V^2 E^2/pi (Q_W = -2 Q_V).

    The library's Helm F^2 is divided out pointwise (F typed here), so the identity is exact.
    """
    e_r_max = 2 * e_nu**2 / M_NUC
    xs = lambda e_r: float(cevns.dsigma_dER(e_r, e_nu, Z, N, M_NUC)) / helm(np.sqrt(2 * M_NUC * e_r), A) ** 2
    sigma = integrate.quad(xs, 1e-12 * e_r_max, e_r_max, epsabs=0, epsrel=1e-12)[0]
    q_w = N - (1 - 4 * SIN2W) * Z
    closed = G_F**2 * q_w**2 * e_nu**2 / (4 * np.pi) * MEV2_TO_CM2
    assert sigma / closed == pytest.approx(1.0, rel=1e-8)
    # textbook size: 4.2e-45 cm^2 Q_W^2 (E/MeV)^2 (e.g. Freedman 1974; Drukier & Stodolsky 1984)
    assert closed / (4.2e-45 * q_w**2 * e_nu**2) == pytest.approx(1.0, rel=0.01)


def test_cevns_kernel_rate_line_closed_form(kernel):
    """A mono-energetic line: dR/dE_R = N_T Phi dsigma/dE_R(E_line) per t yr keV, no integral."""
    line_rate = kernel.sm_rate()["line"]
    expected = NUCLEI_PER_TONNE * PER_T_YR_KEV * PHI_LINE * sm_dsigma(E_R_KEV * KEV, E_LINE)
    assert E_R_KEV[-1] * KEV > 2 * E_LINE**2 / M_NUC  # past the endpoint: zero
    assert line_rate[-1] == 0.0 and expected[-1] == 0.0
    assert line_rate[:-1] / expected[:-1] == pytest.approx(np.ones(5), rel=1e-10)


def test_cevns_kernel_rate_box_quadrature(kernel):
    """A flat continuum: the flux-moment rate against a quadrature of Eq. 1 over E_nu >= sqrt(M E_R/2)."""
    got = kernel.sm_rate()
    for k, e_r in enumerate(E_R_KEV * KEV):
        e_min = np.sqrt(M_NUC * e_r / 2)
        lo = max(e_min, E_BOX[0])
        ref = integrate.quad(lambda e: float(sm_dsigma(e_r, e)), lo, E_BOX[1], epsrel=1e-11)[0]
        ref *= PHI_BOX / (E_BOX[1] - E_BOX[0]) * NUCLEI_PER_TONNE * PER_T_YR_KEV
        if lo >= E_BOX[1]:  # 6 keV needs E_nu > 19.2 MeV: above the box
            assert got["box"][k] == 0.0
            continue
        assert got["box"][k] / ref == pytest.approx(1.0, rel=2e-6)
        assert got["total"][k] == pytest.approx(got["box"][k] + got["line"][k], rel=1e-14)


def test_cevns_natural_xenon_isotope_sum(xenon):
    """Natural xenon (nine isotopes, abundances, AME masses) with the box flux: the isotope sum of
    Eq. 1, each isotope with its own M, Q_V and Helm radius, against a quadrature."""
    e_r_keV = np.array([0.5, 2.0])
    got = cevns.differential_rate(e_r_keV, xenon, [BOX])["total"]
    assert sum(i.count for i in xenon.isotopes) == pytest.approx(1.0, rel=1e-12)
    assert xenon.molar_mass_g == pytest.approx(131.293, abs=0.006)  # IUPAC standard atomic weight 131.293(6)
    atoms = 1e6 / xenon.molar_mass_g * N_A
    for k, e_r in enumerate(e_r_keV * KEV):
        ref = 0.0
        for iso in xenon.isotopes:
            q_v = (0.5 - 2 * SIN2W) * iso.Z - 0.5 * iso.N
            lo = max(np.sqrt(iso.mass_MeV * e_r / 2), E_BOX[0])
            xs = lambda e: float(sm_dsigma(e_r, e, q_v, iso.mass_MeV, iso.A))
            ref += iso.count * integrate.quad(xs, lo, E_BOX[1], epsrel=1e-11)[0]
        ref *= PHI_BOX / (E_BOX[1] - E_BOX[0]) * atoms * PER_T_YR_KEV
        assert got[k] / ref == pytest.approx(1.0, rel=2e-6)


# --- 3.1 scalar coupled to quarks --------------------------------------------------------------------


def scalar_charge_eq15(Z_, N_, g_q):
    """Eq. 15 with g_q(quark) given: Z sum (m_p/m_q) g_q f^p + N sum ... + (Z m_p + N m_n) 2/27 f_TG sum g_Q/m_Q."""
    total = 0.0
    for count, nuc, m_nuc in ((Z_, "p", M_P), (N_, "n", M_N)):
        f = F_T[nuc]
        f_tg = 1 - sum(f.values())
        total += count * m_nuc * sum(g_q(q) / QUARK[q] * f[q] for q in "uds")
        total += count * m_nuc * 2 / 27 * f_tg * sum(g_q(q) / QUARK[q] for q in "cbt")
    return total


def test_scalar_charge_eq15():
    uni = scalar_charge_eq15(Z, N, lambda q: 1.0)
    higgs = scalar_charge_eq15(Z, N, lambda q: QUARK[q] / V_HIGGS)
    assert mediators.scalar_charge(Z, N, "universal") == pytest.approx(uni, rel=1e-12)
    assert mediators.scalar_charge(Z, N, "higgs") == pytest.approx(higgs, rel=1e-12)
    # physics.md 3.1 quotes both to three digits: 17.8 A and 1.16e-3 A
    assert uni / A == pytest.approx(17.8, abs=0.05)
    assert higgs / A == pytest.approx(1.16e-3, abs=0.005e-3)
    # Higgs-like closed form: f_N = sum_{u,d,s} f_Tq^N + (6/27) f_TG (~0.30)
    f_n = {k: sum(v.values()) + 6 / 27 * (1 - sum(v.values())) for k, v in F_T.items()}
    assert f_n["p"] == pytest.approx(0.30, abs=0.01)
    assert higgs == pytest.approx((Z * M_P * f_n["p"] + N * M_N * f_n["n"]) / V_HIGGS, rel=1e-12)


def scalar_dsigma(e_r, e_nu, m, q_phi, mass=M_NUC, A_=A):
    """physics.md 3.1, per unit coupling: Q_phi^2 M^2 E_R F^2 / (4 pi E^2 (2 M E_R + m^2)^2) [cm^2/MeV]."""
    kin = 1 - mass * e_r / (2 * e_nu**2)  # kinematic endpoint, as for the SM
    f2 = helm(np.sqrt(2 * mass * e_r), A_) ** 2
    xs = q_phi**2 * mass**2 * e_r * f2 / (4 * np.pi * e_nu**2 * (2 * mass * e_r + m**2) ** 2) * MEV2_TO_CM2
    return np.where(kin > 0, xs, 0.0)


@pytest.mark.parametrize("couplings", ["universal", "higgs"])
def test_scalar_rate_against_quadrature(kernel, couplings):
    """Quadratic term of cevns_rate_terms against Eq. 14 integrated over the line and the box; L = 0."""
    model = mediators.get_model(f"{couplings}_scalar")
    g_q = (lambda q: 1.0) if couplings == "universal" else (lambda q: QUARK[q] / V_HIGGS)
    q_phi = scalar_charge_eq15(Z, N, g_q)
    masses = np.array([0.1, 20.0, 300.0])
    lin, quad = mediators.cevns_rate_terms(model, kernel, masses)
    assert lin.shape == quad.shape == (3, E_R_KEV.size) and np.all(lin == 0.0)
    for i, m in enumerate(masses):
        for k, e_r in enumerate(E_R_KEV * KEV):
            e_min = np.sqrt(M_NUC * e_r / 2)
            ref = flux_average(lambda e: float(scalar_dsigma(e_r, e, m, q_phi)), e_min)
            if ref == 0.0:
                assert quad[i, k] == 0.0
                continue
            assert quad[i, k] / (ref * NUCLEI_PER_TONNE * PER_T_YR_KEV) == pytest.approx(1.0, rel=2e-6)


def test_scalar_heavy_mediator_contact_limit(kernel):
    """m -> infinity: m^4 dsigma/dE_R -> Q_phi^2 M^2 E_R F^2/(4 pi E^2) (contact operator), line flux."""
    model = mediators.get_model("universal_scalar")
    q_phi = scalar_charge_eq15(Z, N, lambda q: 1.0)
    only_line = cevns.RecoilKernel.build(E_R_KEV[:-1], XE132, [LINE])
    m = 1e6  # 1 TeV: 2 M E_R / m^2 < 1e-6
    _, quad = mediators.cevns_rate_terms(model, only_line, np.array([m]))
    e_r = E_R_KEV[:-1] * KEV
    contact = q_phi**2 * M_NUC**2 * e_r * helm(np.sqrt(2 * M_NUC * e_r), A) ** 2 / (4 * np.pi * E_LINE**2)
    expected = contact * MEV2_TO_CM2 * PHI_LINE * NUCLEI_PER_TONNE * PER_T_YR_KEV
    assert quad[0] * m**4 / expected == pytest.approx(np.ones(e_r.size), rel=1e-5)
    # ... and the ratio to the SM rate at the same point is a pure number (F^2, N_T, Phi cancel)
    ratio = quad[0] * m**4 / only_line.sm_rate()["total"]
    ratio_typed = q_phi**2 * M_NUC * e_r / (4 * E_LINE**2 * G_F**2 * Q_V**2 * (1 - M_NUC * e_r / (2 * E_LINE**2)))
    assert ratio / ratio_typed == pytest.approx(np.ones(e_r.size), rel=1e-5)


# --- 3.3 vector -------------------------------------------------------------------------------------


def delta_q(e_r, m):
    """Eq. 19 per unit coupling product: 3 A / (sqrt(2) G_F (2 M E_R + m^2))."""
    return 3 * A / (np.sqrt(2) * G_F * (2 * M_NUC * e_r + m**2))


def test_vector_charge_shift_eq19():
    e_r = E_R_KEV * KEV
    m = np.array([0.5, 30.0, 1e4])
    got = mediators.vector_charge_shift(A, M_NUC, e_r, m)
    assert got.shape == (3, e_r.size)
    assert got / delta_q(e_r[None, :], m[:, None]) == pytest.approx(np.ones((3, e_r.size)), rel=1e-12)
    # heavy limit: vector NSI, G dQ = 3 A eps with eps = G / (sqrt(2) G_F m^2) (physics.md 3.4)
    assert got[2, 0] * 1e4**2 * np.sqrt(2) * G_F / (3 * A) == pytest.approx(1.0, rel=1e-6)


@pytest.fixture(scope="module")
def vector_terms(kernel):
    m = np.array([1.0, 10.0, 100.0])
    lin, quad = mediators.cevns_rate_terms(mediators.get_model("universal_vector"), kernel, m)
    return m, lin, quad


def full_vector_rate(e_r, g, m):
    """Eq. 1 with Q_V -> Q_V + G dQ (Eq. 19), flux-averaged over line + box, per t yr keV."""
    q = Q_V + g * delta_q(e_r, m)
    return flux_average(lambda e: float(sm_dsigma(e_r, e, q)), np.sqrt(M_NUC * e_r / 2)) * (
        NUCLEI_PER_TONNE * PER_T_YR_KEV
    )


def test_vector_full_charge_reproduces_polynomial(kernel, vector_terms):
    """SM + G L + G^2 Q equals the rate with the full charge |Q_V + G dQ|^2, for both signs of G."""
    m, lin, quad = vector_terms
    sm = kernel.sm_rate()["total"]
    for i, mi in enumerate(m):
        for k, e_r in enumerate(E_R_KEV[:-1] * KEV):
            g0 = abs(Q_V) / delta_q(e_r, mi)  # G dQ ~ Q_V: linear and quadratic terms both matter
            for g in (-0.7 * g0, 0.3 * g0, 2.5 * g0):
                got = sm[k] + g * lin[i, k] + g**2 * quad[i, k]
                assert got / full_vector_rate(e_r, g, mi) == pytest.approx(1.0, rel=2e-6)


def test_vector_interference_is_the_odd_part(kernel, vector_terms):
    """L = [R(G) - R(-G)]/(2G) and Q = [R(G) + R(-G) - 2 R_SM]/(2 G^2) from the full-charge rate; L has
    the sign of Q_V (< 0), so G < 0 interferes constructively (physics.md 3.3)."""
    m, lin, quad = vector_terms
    for i, mi in enumerate(m):
        for k, e_r in enumerate(E_R_KEV[:-1] * KEV):
            g = 0.1 * abs(Q_V) / delta_q(e_r, mi)
            up, down, sm = (full_vector_rate(e_r, x, mi) for x in (g, -g, 0.0))
            assert lin[i, k] / ((up - down) / (2 * g)) == pytest.approx(1.0, rel=2e-6)
            assert quad[i, k] / ((up + down - 2 * sm) / (2 * g**2)) == pytest.approx(1.0, rel=2e-6)
            assert lin[i, k] < 0 and down > sm > up
    assert np.all(lin[:, -1] == 0) and np.all(quad[:, -1] == 0)  # past every endpoint


def test_vector_destructive_interference_restores_sm(kernel, vector_terms):
    """At G* = -2 Q_V / dQ(E_R) the charge flips sign, Q_V + G* dQ = -Q_V: the total rate is the SM rate."""
    m, lin, quad = vector_terms
    sm = kernel.sm_rate()["total"]
    e_r = E_R_KEV[:-1] * KEV
    for i, mi in enumerate(m):
        g_star = -2 * Q_V / delta_q(e_r, mi)
        n_bsm = g_star * lin[i, :-1] + g_star**2 * quad[i, :-1]
        assert np.all(np.abs(n_bsm) < 1e-9 * sm[:-1])
        # half way, Q_V + G dQ = 0: no CEvNS at all
        half = 0.5 * g_star * lin[i, :-1] + 0.25 * g_star**2 * quad[i, :-1]
        assert half / sm[:-1] == pytest.approx(-np.ones(e_r.size), rel=1e-9)


# --- 2.3 nu-e scattering -----------------------------------------------------------------------------


def nue_couplings(flavour):
    return (0.5 + 2 * SIN2W, 0.5) if flavour == "e" else (-0.5 + 2 * SIN2W, -0.5)


def nue_dsigma(t, e_nu, flavour):
    """physics.md 2.3, per free electron [cm^2/MeV], zero above T_max = 2E^2/(m_e + 2E)."""
    gv, ga = nue_couplings(flavour)
    br = (gv + ga) ** 2 + (gv - ga) ** 2 * (1 - t / e_nu) ** 2 + (ga**2 - gv**2) * M_E * t / e_nu**2
    return np.where(t <= 2 * e_nu**2 / (M_E + 2 * e_nu), G_F**2 * M_E / (2 * np.pi) * br * MEV2_TO_CM2, 0.0)


@pytest.mark.parametrize("flavour", ["e", "mu", "tau"])
def test_nue_dsigma_pointwise(flavour):
    t = np.array([1e-6, 1e-3, 0.1, 0.5, 0.664, 0.7])  # T_max = 664.25 keV
    e_nu = 0.8613
    got = electron.dsigma_dT_free(t, e_nu, flavour)
    ref = nue_dsigma(t, e_nu, flavour)
    assert got[-1] == 0.0 and ref[-1] == 0.0
    assert got[:-1] / ref[:-1] == pytest.approx(np.ones(5), rel=1e-12)


@pytest.mark.parametrize(("flavour", "e_nu"), [("e", 0.8613), ("mu", 0.8613), ("e", 10.0), ("mu", 0.3843)])
def test_nue_total_cross_section_closed_form(flavour, e_nu):
    """integral_0^T_max of Eq. 9, in closed form, including the m_e T/E^2 term (no E >> m_e expansion):

    sigma = G_F^2 m_e/(2 pi) [ a T_m + b E/3 (1 - (1 - T_m/E)^3) + c m_e T_m^2 / (2 E^2) ].
    """
    gv, ga = nue_couplings(flavour)
    a, b, c = (gv + ga) ** 2, (gv - ga) ** 2, ga**2 - gv**2
    t_m = 2 * e_nu**2 / (M_E + 2 * e_nu)
    closed = G_F**2 * M_E / (2 * np.pi) * MEV2_TO_CM2
    closed *= a * t_m + b * e_nu / 3 * (1 - (1 - t_m / e_nu) ** 3) + c * M_E * t_m**2 / (2 * e_nu**2)
    sigma = integrate.quad(lambda t: float(electron.dsigma_dT_free(t, e_nu, flavour)), 0, t_m, epsrel=1e-12)[0]
    assert sigma / closed == pytest.approx(1.0, rel=1e-9)


def test_nue_rate_line_closed_form(shells):
    """A 7Be-like line without oscillations: dR/dT = N_atoms Z_eff(T) Phi dsigma/dT per t yr keV_ee,
    Z_eff from the sub-shell table (physics.md 2.3)."""
    line = FluxComponent("be", 4.8e9, np.array([0.8613]), None, "7Be")
    t_keV = np.array([0.02, 0.08, 0.7, 1.2, 5.0, 40.0, 300.0, 664.0, 665.0])
    atoms = 1e6 / 131.293 * N_A
    got = electron.differential_rate(t_keV, [line], shells, atoms, oscillations=False)["be"]
    zeff = z_eff_from_csv(t_keV * KEV)
    # by hand from the table: 5p (6); + 5s, 4d (18); + 4p, 4s, 3d5/2 (32); + 3d3/2, 3p, 3s (44); + 2p3/2 (48)
    assert zeff.tolist() == [6, 18, 32, 44, 48, 54, 54, 54, 54]
    expected = atoms * zeff * 4.8e9 * nue_dsigma(t_keV * KEV, 0.8613, "e") * PER_T_YR_KEV
    assert got[-1] == 0.0 and expected[-1] == 0.0
    assert got[:-1] / expected[:-1] == pytest.approx(np.ones(t_keV.size - 1), rel=1e-10)


def test_nue_rate_box_with_survival():
    """A flat continuum with a toy P_ee(E): the flavour-split moments against a quadrature of Eq. 9,
    P_ee nu_e + (1 - P_ee) nu_mu (physics.md 2.3)."""
    box = FluxComponent("box", 6e10, np.array([0.05, 0.42]), np.ones(2), "pp")
    p = lambda e: 0.55 - 0.3 * np.asarray(e)
    t = np.array([1.0, 10.0, 100.0]) * KEV
    got = electron.rate_from_moments(t, electron.flux_moments(t, box, p))
    for k, tk in enumerate(t):
        e_min = (tk + np.sqrt(tk**2 + 2 * M_E * tk)) / 2
        f = lambda e: p(e) * nue_dsigma(tk, e, "e") + (1 - p(e)) * nue_dsigma(tk, e, "mu")
        ref = 6e10 / 0.37 * integrate.quad(lambda e: float(f(e)), max(e_min, 0.05), 0.42, epsrel=1e-11)[0]
        assert got[k] / ref == pytest.approx(1.0, rel=1e-5)


# --- 3.2 leptophilic scalar -----------------------------------------------------------------------------


def test_leptophilic_rate_closed_form(shells):
    """Eq. 17 for the line and the box: N_atoms Z_eff Phi G^2 m_e^2 T / (4 pi E^2 (2 m_e T + m^2)^2)."""
    model = mediators.get_model("leptophilic_scalar")
    line = FluxComponent("be", 4.8e9, np.array([0.8613]), None, "7Be")
    box = FluxComponent("box", 6e10, np.array([0.05, 0.42]), np.ones(2), "pp")
    t_keV = np.array([0.5, 3.0, 30.0, 200.0, 665.0])
    t = t_keV * KEV
    zeff = z_eff_from_csv(t)
    atoms = 1e6 / 131.293 * N_A
    kern = mediators.ElectronKernel.build(t_keV, [line, box], zeff, atoms)
    masses = np.array([1e-3, 0.05, 2.0])
    lin, quad = mediators.electron_rate_terms(model, kern, masses)
    assert np.all(lin == 0.0)
    for i, m in enumerate(masses):
        for k in range(t.size):
            xs = lambda e: M_E**2 * t[k] / (4 * np.pi * e**2 * (2 * M_E * t[k] + m**2) ** 2) * MEV2_TO_CM2
            e_min = (t[k] + np.sqrt(t[k] ** 2 + 2 * M_E * t[k])) / 2
            ref = 4.8e9 * xs(0.8613) if e_min <= 0.8613 else 0.0
            if e_min < 0.42:
                ref += 6e10 / 0.37 * integrate.quad(xs, max(e_min, 0.05), 0.42, epsrel=1e-11)[0]
            ref *= atoms * zeff[k] * PER_T_YR_KEV
            if ref == 0.0:
                assert quad[i, k] == 0.0
            else:
                assert quad[i, k] / ref == pytest.approx(1.0, rel=2e-6)


# --- rate conversions: quenching Jacobian, folding ------------------------------------------------------


def lindhard_typed(e_nr_keV, k=0.166, Z_=54):
    """E_ee(E_nr) and dE_ee/dE_nr for Lindhard (physics.md 1), derivative by hand."""
    eps = 11.5 * e_nr_keV * Z_ ** (-7 / 3)
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    dg = 0.45 * eps**-0.85 + 0.42 * eps**-0.4 + 1
    L = k * g / (1 + k * g)
    dL = k * dg / (1 + k * g) ** 2 * 11.5 * Z_ ** (-7 / 3)
    return L * e_nr_keV, L + e_nr_keV * dL


def test_jacobian_values():
    e = np.array([0.3, 1.0, 4.0, 30.0])
    assert quenching.Quenching("constant", q_nr=0.15).jacobian(e) == pytest.approx(np.full(4, 0.15), rel=1e-15)
    e_ee, jac = lindhard_typed(e)
    q = quenching.Quenching("lindhard")
    assert q.to_ee(e) / e_ee == pytest.approx(np.ones(4), rel=1e-12)
    assert q.jacobian(e) / jac == pytest.approx(np.ones(4), rel=1e-7)
    # Lindhard's E_ee grows faster than linearly: the Jacobian exceeds the quenching factor
    assert np.all(jac > e_ee / e)


@pytest.mark.parametrize("model", ["constant", "lindhard"])
def test_spectrum_to_ee_conserves_events(model):
    """The number of events is invariant under keV_nr -> keV_ee: integrate both sides.

    A power law dR/dE_nr = C E^-1.7 is exact under the log-log interpolation, so the only
    approximations are the quadratures (1e-6).
    """
    q = quenching.Quenching(model)
    e_nr = np.geomspace(0.05, 100.0, 400)
    rate_nr = 50.0 * e_nr**-1.7
    a, b = 0.5, 20.0  # keV_nr
    n_nr = 50.0 * (a**-0.7 - b**-0.7) / 0.7
    ee_a, ee_b = (q.to_ee(np.array([a, b])) if model == "constant" else lindhard_typed(np.array([a, b]))[0]).tolist()
    e_ee = np.geomspace(ee_a, ee_b, 4001)
    rate_ee = q.spectrum_to_ee(e_ee, e_nr, rate_nr)
    n_ee = integrate.simpson(rate_ee, x=e_ee)
    assert n_ee / n_nr == pytest.approx(1.0, rel=1e-5)
    if model == "constant":  # closed form: dR/dE_ee = dR/dE_nr (E_ee/q) / q
        assert rate_ee / (50.0 * (e_ee / 0.15) ** -1.7 / 0.15) == pytest.approx(np.ones(e_ee.size), rel=1e-9)


def test_fold_trapezoid_exact_for_linear():
    """fold = exposure * integral eps dR/dE; the trapezoid rule is exact for a linear integrand."""
    e = np.linspace(1.0, 11.0, 7)
    rate = 3.0 + 0.5 * e
    n = fold(e, rate, np.ones_like(e), 2.5)
    assert n == pytest.approx(2.5 * (3.0 * 10.0 + 0.25 * (121.0 - 1.0)), rel=1e-14)
    # leading axes are kept (e.g. mediator masses)
    many = fold(e, np.vstack([rate, 2 * rate]), np.full_like(e, 0.5), 1.0)
    assert many == pytest.approx([0.5 * n / 2.5, n / 2.5], rel=1e-14)


def test_experiment_events_against_quadrature():
    """Experiment.events with an erf efficiency and ROI against scipy quad of the same integral."""
    eff = Efficiency("erf", roi_keV=(0.2, 8.0), plateau=0.8, center_keV=1.0, width_keV=0.3)
    exp = Experiment("x", "x", 1.7, 5.0, 4.0, eff)
    rate = lambda e: 40.0 * np.exp(-e / 1.5)
    eps = lambda e: 0.8 * 0.5 * (1 + erf((e - 1.0) / (np.sqrt(2) * 0.3)))
    ref = 1.7 * integrate.quad(lambda e: rate(e) * eps(e), 0.2, 8.0, epsrel=1e-12)[0]
    e = np.linspace(0.2, 8.0, 3001)
    assert exp.events(e, rate(e)) / ref == pytest.approx(1.0, rel=1e-6)


def test_electron_recoil_events_same_in_nr_and_ee():
    """An NR spectrum folded with eps(E_nr) equals its keV_ee image folded with eps(E_nr(E_ee)):
    the Jacobian and the efficiency conversion (Lindhard, paper section 3) are consistent."""
    eff = Efficiency("erf", roi_keV=(0.1, 30.0), plateau=0.9, center_keV=1.0, width_keV=0.25)
    exp = Experiment("s2", "s2", 1.04, 10.0, 10.0, eff, electron_recoils=True)
    e_nr = np.geomspace(0.05, 50.0, 6001)
    rate_nr = 20.0 * e_nr**-1.3
    n_nr = exp.events(e_nr, rate_nr, energy="nr")
    e_ee = np.geomspace(float(exp.ee_quenching.to_ee(np.array(0.06))), 9.0, 6001)
    n_ee = exp.events(e_ee, exp.ee_quenching.spectrum_to_ee(e_ee, e_nr, rate_nr), energy="ee")
    assert n_ee / n_nr == pytest.approx(1.0, rel=2e-4)
