"""Report pages, Fig. 3 expected bands and the HEPData record, on synthetic limit files."""

import gc
import importlib.util
import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from nufog import io
from nufog.hepdata import EXPECTED_COLUMNS, data_table, dump_submission, dump_table, submission_entry
from nufog.report import headline_html

from ..conftest import ROOT

EXPECTED = list(EXPECTED_COLUMNS)


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def limit_file(path, experiment, expected=False, fit_ok=None, model="universal_scalar", extra=None):
    """A synthetic limit curve written like results/{run}/limits/*.parquet (with its metadata)."""
    m = np.geomspace(0.01, 1e4, 40)
    g = 3e-11 * (1 + (m / 20.0) ** 2)
    df = pd.DataFrame({"m_med_MeV": m, "coupling_limit": g})
    units = {"m_med_MeV": "MeV", "coupling_limit": "1"}
    if expected:
        for col, factor in zip(EXPECTED, (1.0, 0.7, 1.4, 0.5, 2.0)):
            df[col] = 1.1 * g * factor
            units[col] = "1"
    if fit_ok is not None:
        df["fit_ok"] = fit_ok
        units["fit_ok"] = ""
    meta = {
        "model": model,
        "model_label": "universal scalar",
        "coupling_label": r"$g_\nu g_q$",
        "coupling_sign": 1.0,
        "experiment": experiment,
        "experiment_label": experiment.upper(),
        "cl": 0.9,
        "n_obs": 10.0,
        "background": 12.0,
        **(extra or {}),
    }
    io.write_table(df, path, units, io.provenance({}, {}), extra=meta)
    return path


FIG_CFG = {
    "m_med_MeV": [0.01, 1e4],
    "bbn": {"m_max_MeV": 1.0, "label": "BBN"},
    "reference_limits": {},
    "coupling_ranges": {"universal_scalar": [1e-12, 1e-4]},
}


@pytest.mark.parametrize("with_expected", [False, True])
def test_fig3_expected_bands_for_combinations_only(tmp_path, with_expected):
    fig3 = load_script("plot_fig3")
    combo = limit_file(tmp_path / "universal_scalar_xenon_2024.parquet", "xenon_2024", expected=with_expected)
    single = limit_file(tmp_path / "universal_scalar_xenonnt.parquet", "xenonnt", expected=True)
    curves = [io.read_table(combo), io.read_table(single)]
    fig, ax = plt.subplots()
    fig3.panel(ax, "universal_scalar", curves, {}, FIG_CFG, {"xenon_2024"})
    labels = ax.get_legend_handles_labels()[1]
    # bands only for the combination, and only when its file has the expected columns
    assert ("expected $\\pm 1\\sigma$" in labels) == with_expected
    assert ("XENON_2024, expected" in labels) == with_expected
    assert labels.count("expected $\\pm 2\\sigma$") == int(with_expected)
    plt.close(fig)
    # the whole script, with and without a `combinations` section (one each: a render costs seconds):
    # a combination whose file has no expected columns, and bands in a file but no combinations
    outputs = {"pdf": tmp_path / "fig3.pdf", "png": tmp_path / "fig3.png"}
    combinations = {} if with_expected else {"xenon_2024": {}}
    fig3.main({"limits": [combo, single]}, outputs, {"fig": FIG_CFG, "combinations": combinations})
    assert outputs["png"].stat().st_size > 10_000


def test_fig3_y_range_follows_curves_that_leave_the_configured_one():
    fig3 = load_script("plot_fig3")
    m = np.geomspace(0.01, 1e4, 20)
    df = pd.DataFrame({"m_med_MeV": m, "coupling_limit": 1e-15 * (1 + m**2)})
    inside = lambda x: np.ones(len(x), bool)
    assert fig3.y_range([(df, {})], [1e-12, 1e-4], inside) == (1e-16, 1e-8)  # left below: derived
    assert fig3.y_range([(df * [1, 1e5], {})], [1e-12, 1e-4], inside) == (1e-12, 1e-4)  # inside: config


FC_TEXT = (
    " (likelihood-ratio ordering; exact Neyman construction for one-bin data sets without nuisances, else asymptotic)"
)


def test_hepdata_round_trip_and_schema(tmp_path):
    ok = np.ones(40, bool)
    ok[3] = False
    extra = {
        "method": "feldman_cousins",
        "nuisances": ["flux_8B"],
        "references": {
            "xenonnt_s2only_2026": "XENON, arXiv:2601.11296 (CC-BY-4.0)",
            "pandax4t_s1s2": "PandaX-4T, arXiv:2407.10892",
            "pandax4t_s2only": "PandaX-4T, arXiv:2407.10892",
        },
    }
    path = limit_file(
        tmp_path / "universal_scalar_xenon_2024.parquet", "xenon_2024", expected=True, fit_ok=ok, extra=extra
    )
    df, meta = io.read_table(path)
    table = data_table(df, meta, "universal_scalar")
    out = tmp_path / "hepdata"
    out.mkdir()
    (out / "universal_scalar_xenon_2024.yaml").write_text(dump_table(table))
    entry = submission_entry("universal_scalar_xenon_2024.yaml", meta, table, "universal_scalar")
    (out / "submission.yaml").write_text(dump_submission([entry], "synthetic"))

    back = yaml.safe_load((out / "universal_scalar_xenon_2024.yaml").read_text())
    masses = [v["value"] for v in back["independent_variables"][0]["values"]]
    assert back["independent_variables"][0]["header"] == {"name": "mediator mass", "units": "MeV"}
    np.testing.assert_allclose(masses, df["m_med_MeV"], rtol=1e-5)
    dependent = back["dependent_variables"]
    assert [d["qualifiers"][-1]["value"] for d in dependent] == ["observed", *EXPECTED_COLUMNS.values()]
    for d, column in zip(dependent, ["coupling_limit", *EXPECTED]):
        values = [v["value"] for v in d["values"]]
        assert values[3] == "-"  # fit failed: missing value
        np.testing.assert_allclose(
            np.delete(np.array(values, dtype=object), 3).astype(float), np.delete(df[column].to_numpy(), 3), rtol=1e-5
        )
        qualifiers = {q["name"]: q["value"] for q in d["qualifiers"]}
        assert qualifiers["CL"] == "90%" and qualifiers["data set"] == "XENON_2024"
        assert qualifiers["coupling"].startswith("g_nu g_q, scalar mediator with a universal coupling g_q to quarks")
        assert qualifiers["statistical method"] == "Feldman-Cousins" + FC_TEXT
        assert qualifiers["nuisance parameters"] == "flux_8B"
    docs = list(yaml.safe_load_all((out / "submission.yaml").read_text()))
    assert docs[0] == {"comment": "synthetic"} and docs[1]["data_file"] == "universal_scalar_xenon_2024.yaml"
    description = docs[1]["description"]
    assert "Method: Feldman-Cousins" in description and "nuisance parameters profiled: flux_8B." in description
    assert description.endswith("Data: PandaX-4T, arXiv:2407.10892; XENON, arXiv:2601.11296 (CC-BY-4.0).")  # once each

    validator = pytest.importorskip("hepdata_validator.full_submission_validator")
    v = validator.FullSubmissionValidator()
    with warnings.catch_warnings():  # the validator leaves its YAML files to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        valid = v.validate(directory=str(out))
        gc.collect()
    assert valid, {f: [m.message for m in ms] for f, ms in v.get_messages().items()}


def test_headline_fragment():
    signal = pd.DataFrame(
        {
            "experiment": ["pandax4t_s2only"],
            "label": ["PandaX-4T S2-only"],
            "exposure_t_yr": [1.04],
            "observed": [158],
            "background": [144.0],
            "sm_cevns_events": [43.0],
            "n_lim": [40.5757],
            "n_lim_wilks": [40.5757],
            "n_lim_cls": [32.2787],
            "n_lim_feldman_cousins": [36.031],
            "cl": [0.9],
        }
    )
    summary = pd.DataFrame(
        {
            "model": ["universal_scalar"],
            "experiment": ["coherent_csi"],
            "cl": [0.9],
            "method": ["wilks"],
            "limit_at_1MeV": [2.842e-10],
            "limit_at_10MeV": [2.938e-10],
            "limit_at_100MeV": [1.096e-9],
        }
    )
    fit = json.loads('{"n_fit": 307.567, "n_fit_err": 29.6, "n_fit_err_low": 29.5, "n_fit_err_high": 29.7}')
    html = headline_html(
        signal, fit, summary, {"universal_scalar": "universal scalar"}, {"coherent_csi": "COHERENT CsI"}
    )
    assert html.count("<table") == 3 and 'id="nufog-headline"' in html
    for text in ("40.58", "307.6", "−29.5 / +29.7", "limit at 10 MeV", "2.938e-10", "COHERENT CsI", "universal scalar"):
        assert text in html
    assert "(90 % CL, Wilks)" in html and "32.28" not in html
    # with limits.method: cls the front page shows the CLs N_lim, and says so (it showed Wilks' under CLs curves)
    cls = headline_html(signal, fit, summary.assign(method="cls"))
    assert "32.28" in cls and "40.58" not in cls and "(90 % CL, CLs; exact one-bin" in cls
    assert "Limit on the coupling product (90 % CL, CLs)" in cls


def test_figures_leave_out_flagged_masses_and_curves_without_any(tmp_path, caplog):
    """A mass with fit_ok = False is not a result: Figs. 3 and 5 leave it out (as HEPData does), a curve
    without any converged mass is not drawn, and neither crashes (Fig. 5 did, on toy CLs whose COHERENT
    curve was flagged at every mass: the union fill took the minimum of an empty array)."""
    from nufog.plotting import converged, plot_union_fill

    fig3, fig5 = load_script("plot_fig3"), load_script("plot_fig5")
    some = np.ones(40, bool)
    some[:5] = False
    partly = io.read_columns(limit_file(tmp_path / "a.parquet", "xenonnt", expected=True, fit_ok=some))
    none = io.read_columns(limit_file(tmp_path / "b.parquet", "coherent_csi", fit_ok=np.zeros(40, bool)))
    with caplog.at_level("WARNING"):
        curves = fig3.drawable([partly, none])
    assert [meta["experiment"] for _, meta in curves] == ["xenonnt"]
    assert len(curves[0][0]["coupling_limit"]) == 35 and curves[0][0]["expected_plus2"].size == 35
    assert "xenonnt: 5 masses have fit_ok = False" in caplog.text
    assert "coherent_csi: no mass has a converged fit" in caplog.text
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 1e-4)
    assert plot_union_fill(ax, [(np.array([]), np.array([]))]) is None
    assert plot_union_fill(ax, [(np.array([]), np.array([])), (partly[0]["m_med_MeV"], partly[0]["coupling_limit"])])
    combined = (converged(partly[0]), {**partly[1], "model_label": "universal scalar"})
    fig5.panel(ax, "universal_scalar", combined, [], [(converged(none[0]), none[1])], FIG_CFG, None, {})
    assert ax.get_ylim()[0] == pytest.approx(combined[0]["coupling_limit"].min() / 10)  # converged masses only
    plt.close(fig)
