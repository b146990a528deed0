"""Light-mediator limits: scaling laws, the NSI limit, interference, experiments and models."""

import numpy as np
import pytest
import yaml
from scipy import optimize

from nufog import stats
from nufog import units as u
from nufog.analysis import Setup, build_model
from nufog.cevns import RecoilKernel
from nufog.experiments import Efficiency, Experiment
from nufog.limits import SignalModel, chi2_map, count_coefficients, limit_curve
from nufog.mediators import get_model, scalar_charge
from nufog.nuclei import Isotope, Target

from ..conftest import MANIFEST, mirror_file


@pytest.fixture(scope="module")
def setup(paper_config):
    names = yaml.safe_load(MANIFEST.read_text())["inputs"]
    files = {n: mirror_file(n) for n in names if not n.startswith(("coherent", "limit_"))}
    return Setup(files, paper_config)


@pytest.fixture(scope="module")
def summaries(setup, paper_config):
    return {
        name: setup.experiment(name)
        for name, cfg in paper_config["experiments"].items()
        if cfg.get("kind", "counting") == "counting"
    }


def limit(setup, summaries, model, experiment, masses):
    sig = setup.signal(model, summaries[experiment])
    return limit_curve(sig, np.asarray(masses, float), summaries[experiment].n_lim)["coupling_limit"]


def test_experiment_reference_numbers(summaries):
    """physics.md 4 and 7: S2-only plateau ~0.09 for 43 events; digitised curves give ~3.3 and ~10.5."""
    s2 = summaries["pandax4t_s2only"]
    assert s2.sm_cevns_events == pytest.approx(43.0, rel=1e-9)
    assert 0.08 < s2.experiment.efficiency.scale < 0.10
    assert summaries["pandax4t_s1s2"].sm_cevns_events == pytest.approx(3.3, rel=0.05)
    assert summaries["xenonnt"].sm_cevns_events == pytest.approx(10.5, rel=0.05)
    assert s2.n_lim == pytest.approx(40.6, abs=0.05)
    xlzd = summaries["xlzd"]
    assert xlzd.n_obs == xlzd.background == xlzd.sm_cevns_events
    # 8B above 1 keV_nr ~ 94.7 /t/yr (physics.md, B16 flux) x 200 t yr
    assert xlzd.sm_cevns_events == pytest.approx(94.7 * 200, rel=0.03)


@pytest.mark.parametrize("model", ["universal_scalar", "higgs_scalar", "universal_vector"])
def test_heavy_mediator_scaling_is_m_squared(setup, summaries, model):
    g = limit(setup, summaries, model, "xenonnt", [3e3, 3e4])
    assert g[1] / g[0] == pytest.approx(100.0, rel=0.01)


@pytest.mark.parametrize("model", ["universal_scalar", "higgs_scalar", "universal_vector"])
def test_light_mediator_plateau_cevns(setup, summaries, model):
    """q^2 = 2 M E_R ~ (20 MeV)^2 at 1.5 keV: below a few MeV the propagator no longer depends on m."""
    g = limit(setup, summaries, model, "xenonnt", [0.01, 1.0])
    assert g[1] / g[0] == pytest.approx(1.0, rel=0.01)
    g10 = limit(setup, summaries, model, "xenonnt", [30.0])[0]
    assert g10 / g[0] > 1.5  # bends by 30 MeV


def test_light_mediator_plateau_electron(setup, summaries):
    """nu-e: q^2 = 2 m_e T ~ (30 keV)^2 at 1 keV, so the plateau sets in well below 0.1 MeV."""
    g = limit(setup, summaries, "leptophilic_scalar", "pandax4t_s2only", [1e-4, 1e-3, 1.0])
    assert g[1] / g[0] == pytest.approx(1.0, rel=0.02)
    assert g[2] / g[1] > 100.0


def test_scalar_stronger_than_vector(setup, summaries):
    masses = np.geomspace(0.01, 1e4, 20)
    for exp in ("pandax4t_s1s2", "pandax4t_s2only", "xenonnt"):
        assert np.all(
            limit(setup, summaries, "universal_scalar", exp, masses)
            < limit(setup, summaries, "universal_vector", exp, masses)
        )


def test_heavy_vector_equals_vector_nsi(setup, summaries):
    """m >> q: the vector limit is the NSI limit eps^uV = eps^dV = G / (sqrt(2) G_F m^2).

    The NSI limit is computed independently: charges Q_V + 3 A eps in the SM rate, root in eps.
    """
    summary = summaries["xenonnt"]
    exp, kernel = summary.experiment, setup.recoil_kernel
    e = setup.e_nr_keV
    q_sm = kernel.sm_charges()[:, None]
    A = kernel.mass_numbers[:, None]
    n_sm = float(exp.events(e, kernel.rate_per_isotope().sum(axis=(0, 1))))

    def n_bsm(eps):
        rate = kernel.rate_per_isotope(charges=q_sm + 3.0 * A * eps).sum(axis=(0, 1))
        return float(exp.events(e, rate)) - n_sm

    eps_lim = optimize.brentq(lambda x: n_bsm(x) - summary.n_lim, -1.0, 0.0, xtol=1e-14)  # constructive: eps < 0
    m = 1e5  # 100 GeV
    g = limit(setup, summaries, "universal_vector", "xenonnt", [m])[0]
    assert g / (np.sqrt(2) * u.G_F * m**2) == pytest.approx(-eps_lim, rel=1e-4)


def test_scalar_charge_is_about_six_times_vector_shift():
    """physics.md 3: the scalar nuclear charge per unit coupling (~17.8 A) against the vector's 3 A."""
    assert scalar_charge(54, 78, "universal") / (3 * 132) == pytest.approx(6.0, rel=0.02)


def test_destructive_interference_cancels_and_map_shows_band(setup, summaries):
    """With destructive interference the BSM count returns to zero where Q_V + G dQ = -Q_V."""
    iso = Isotope.from_atomic_mass(132, 54, 1.0, 131.904154)
    target = Target("Xe132", (iso,), 131.904154)
    kernel = RecoilKernel.build(setup.e_nr_keV, target, setup.fluxes.components)
    exp = summaries["pandax4t_s2only"].experiment
    sig = SignalModel(get_model("universal_vector"), exp, kernel, coupling_sign=+1.0)
    m = 1e5  # heavy: dQ independent of E_R, so the cancellation is exact
    q_v = kernel.sm_charges()[0]
    g_star = -2.0 * q_v * np.sqrt(2) * u.G_F * m**2 / (3 * iso.A)
    a, b = count_coefficients(sig, np.array([m]))
    n_sm = float(exp.events(setup.e_nr_keV, kernel.sm_rate()["total"]))
    # residual q^2/m^2 = 2 M E_R / m^2 ~ 1e-7 at m = 100 GeV
    assert abs(a[0] * g_star + b[0] * g_star**2) < 1e-6 * n_sm
    # map: allowed at 0, excluded at g*/2 (no CEvNS at all), allowed again at g*, excluded at 2 g*
    summary = summaries["pandax4t_s2only"]
    grid = chi2_map(sig, np.array([m]), np.array([1e-3, 0.5, 1.0, 2.0]) * g_star, summary.n_obs, summary.background)
    dchi2 = grid["delta_chi2"][0]
    t = stats.delta_chi2_threshold(0.9)
    assert dchi2[0] < t and dchi2[1] > t and dchi2[2] < 1e-6 and dchi2[3] > t
    assert grid["n_bsm"][0, 1] == pytest.approx(-n_sm, rel=1e-9)


def test_limit_solves_the_likelihood(setup, summaries):
    """At the limit, Delta chi^2 of (b + N_BSM) equals the CL threshold."""
    s = summaries["pandax4t_s1s2"]
    sig = setup.signal("universal_scalar", s)
    masses = np.array([0.1, 10.0, 1000.0])
    g = limit_curve(sig, masses, s.n_lim)["coupling_limit"]
    for m, gi in zip(masses, g):
        d = chi2_map(sig, np.array([m]), np.array([gi]), s.n_obs, s.background)["delta_chi2"][0, 0]
        assert d == pytest.approx(stats.delta_chi2_threshold(0.9), abs=1e-6)


def test_model_from_config_and_errors(paper_config):
    assert build_model("higgs_scalar", paper_config).quark_couplings == "higgs"
    with pytest.raises(ValueError, match="unknown model"):
        get_model("axial_vector")
    eff = Efficiency("step", roi_keV=(0.1, 10.0), threshold_keV=1.0)
    exp = Experiment("s1s2", "S1+S2", 1.0, 1.0, 2.0, eff, electron_recoils=False)
    with pytest.raises(ValueError, match="rejects electron recoils"):
        SignalModel(get_model("leptophilic_scalar"), exp, None)
    with pytest.raises(ValueError, match="exposure"):
        Experiment("x", "x", -1.0, 1.0, 2.0, eff)
    with pytest.raises(ValueError, match="no flux components"):
        RecoilKernel.build(np.array([1.0, 2.0]), Target("Xe", (Isotope(132, 54, 1.0, 1.2e5),), 132.0), [])


def test_non_physical_masses_rejected(setup, summaries):
    sig = setup.signal("universal_scalar", summaries["xenonnt"])
    for bad in ([-1.0], [0.0], [np.nan], []):
        with pytest.raises(ValueError, match="mediator masses"):
            count_coefficients(sig, np.array(bad))


def test_extreme_but_valid_masses_are_finite(setup, summaries):
    """1 eV and 100 TeV mediators: finite positive limits, plateau and m^2 regimes respectively."""
    for model in ("universal_scalar", "universal_vector"):
        g = limit(setup, summaries, model, "xenonnt", [1e-6, 1e8])
        assert np.all(np.isfinite(g)) and np.all(g > 0)
        assert g[0] == pytest.approx(limit(setup, summaries, model, "xenonnt", [1e-2])[0], rel=1e-6)


def test_efficiency_kinds():
    e = np.array([0.05, 0.5, 1.0, 5.0, 20.0])
    step = Efficiency("step", roi_keV=(0.1, 10.0), threshold_keV=1.0)
    assert step(e).tolist() == [0.0, 0.0, 1.0, 1.0, 0.0]
    erf = Efficiency("erf", roi_keV=(0.0, 10.0), plateau=0.1, center_keV=0.5, width_keV=0.1)
    assert erf(np.array([0.5]))[0] == pytest.approx(0.05)
    table = Efficiency("table", roi_keV=(0.0, 10.0), energies_keV=np.array([1.0, 2.0]), values=np.array([0.1, 0.3]))
    assert table(np.array([0.5, 1.5, 5.0])).tolist() == pytest.approx([0.0, 0.2, 0.3])
    with pytest.raises(ValueError, match="kind"):
        Efficiency("box", roi_keV=(0.0, 1.0))


def test_leptophilic_rate_against_quadrature(setup):
    """Eq. 17 integrated over E_nu by brute force for the pp continuum and the 7Be line, m = 0.1 MeV."""
    from scipy import integrate

    from nufog import electron
    from nufog.mediators import electron_rate_terms

    model, kernel, m = get_model("leptophilic_scalar"), setup.electron_kernel, 0.1
    _, quad = electron_rate_terms(model, kernel, np.array([m]))
    i = np.searchsorted(setup.e_ee_keV, 5.0)
    t = kernel.t_MeV[i]
    e_min = float(electron.e_nu_min(t))
    total = 0.0
    for comp in setup.fluxes:
        xs = lambda e: u.M_E**2 * t / (4 * np.pi * e**2 * (2 * u.M_E * t + m**2) ** 2) * u.MEV2_TO_CM2  # noqa: E731
        if comp.is_line:
            e0 = comp.energy_MeV[0]
            total += comp.flux_cm2_s * xs(e0) if e0 >= e_min else 0.0
        elif comp.endpoint_MeV > e_min:
            e = np.linspace(e_min, comp.endpoint_MeV, 200_001)
            total += integrate.simpson(comp.spectrum(e) * xs(e), x=e)
    expected = total * kernel.z_eff[i] * kernel.norm
    assert quad[0, i] / expected == pytest.approx(1.0, rel=1e-4)


def test_couplings_validated_and_perturbative_edge_finite(setup, summaries):
    s = summaries["xenonnt"]
    sig = setup.signal("universal_vector", s)
    for bad in ([np.nan], [-1e-9], [0.0], []):
        with pytest.raises(ValueError, match="couplings"):
            chi2_map(sig, np.array([1.0]), np.array(bad), s.n_obs, s.background)
    edge = chi2_map(sig, np.array([1e-6, 1e8]), np.array([4 * np.pi]), s.n_obs, s.background)
    d = edge["delta_chi2"][:, 0]
    assert np.all(np.isfinite(d)) and d[0] > 1e3
    # at 100 TeV even |G| = 4 pi is eps = 4 pi / (sqrt 2 G_F m^2) ~ 8e-5 of G_F: allowed
    assert 0.0 <= d[1] < stats.delta_chi2_threshold(0.9)


@pytest.mark.parametrize(
    "model, m_med", [("universal_scalar", 5.0), ("universal_vector", 8.0), ("higgs_scalar", 333.0)]
)
def test_benchmark_events_from_the_fold_grid(setup, summaries, paper_config, model, m_med):
    """Table 1 reads the fold file: its coefficients interpolated between grid masses equal the direct fold
    at the benchmark mass (count_coefficients) to 1e-5."""
    from nufog.analysis import fold_experiment
    from nufog.fold import dataset_from_fold, signal_events_at

    table, meta = fold_experiment(setup.files, paper_config, "xenonnt", [model])
    data = dataset_from_fold(table, meta, model)
    a, b = count_coefficients(setup.signal(model, summaries["xenonnt"]), np.array([m_med]))
    for g in (1e-11, 1e-9):
        assert signal_events_at(data, m_med, g).sum() == pytest.approx(a[0] * g + b[0] * g**2, rel=1e-5)
    with pytest.raises(ValueError, match="outside its fold grid"):
        signal_events_at(data, 2e4, 1e-10)
