"""Closure of nufog against the XENONnT 2026 releases (rule ``closure_xenonnt``).

- ``xenonnt_s2only_cevns.csv``: nufog's SM 8B CEvNS at the collaboration's flux (SNO, 5.25e6 cm^-2 s^-1)
  folded through the S2-only response (bin-width quadrature) against the release's ``cevns`` row;
- ``xenonnt_s2only_wimp6_template.csv``: the 6 GeV WIMP spectrum folded against the release template;
- ``xenonnt_s2only_wimp_si.csv``: the median expected 90 % CL CLs limit on the SI WIMP cross section from
  nufog's likelihood of the S2-only data set (backgrounds and SM CEvNS from its fold file, the WIMP as
  the single signal) against the published median sensitivity;
- ``xenonnt_2026_b8.csv``: nufog's 8B CEvNS through the 4-D mono templates per SR against the 2024
  light-WIMP b8 templates;
- ``xenonnt_closure.json``: references and licences, conventions, summary ratios and the best-fit 8B flux
  of the SR0-SR2 4-D data (its 68 % profile-likelihood interval).
"""

import json
import logging

from nufog import io
from nufog.analysis import Setup, binned_data
from nufog.fold import dataset_from_fold, read_fold
from nufog.rates import solar_model, xenon_target
from nufog.scripting import run
from nufog.xenonnt_closure import (
    REFERENCES,
    SNO_B8_FLUX_CM2_S,
    b8_flux_fit,
    s2only_cevns_closure,
    s2only_wimp_closure,
    s2only_wimp_sensitivity,
    xenonnt_2026_b8_closure,
)

log = logging.getLogger(__name__)


def _csv(df, path) -> None:
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")


def main(inputs: dict, outputs: dict, params: dict) -> None:
    config = {k: params[k] for k in ("solar", "xenon", "experiments", "limits")}
    s2_name, fd_name = params["s2only"], params["four_d"]
    target = xenon_target(config["xenon"]["isotopes"])
    ff = config["xenon"].get("form_factor", "helm")
    sno = solar_model(inputs, {**config["solar"], "b8_flux_cm2_s": SNO_B8_FLUX_CM2_S})
    fold_flux = solar_model(inputs, config["solar"])["8B"].flux_cm2_s
    setup = Setup(inputs, config)
    s2 = binned_data(setup, s2_name)
    fd = binned_data(setup, fd_name)
    s2_root = io_root(inputs, config["experiments"][s2_name]["release"])
    lw_root = io_root(inputs, config["experiments"][fd_name].get("model", "xenonnt_lightwimp_2024"))

    cevns = s2only_cevns_closure(s2, target, sno, components=("8B",), ff=ff)
    with_hep = s2only_cevns_closure(s2, target, sno, components=("8B", "hep"), ff=ff)
    _csv(cevns, outputs["s2only_cevns"])
    wimp6 = s2only_wimp_closure(s2_root, s2, 6.0)
    _csv(wimp6, outputs["s2only_wimp6"])
    table, meta = read_fold(inputs["fold_s2only"], models=())  # SM and backgrounds only
    sens = s2only_wimp_sensitivity(s2_root, s2, dataset_from_fold(table, meta, None))
    _csv(sens, outputs["s2only_wimp_si"])
    b8 = xenonnt_2026_b8_closure(fd, target, sno, lw_root, components=("8B",), ff=ff)
    _csv(b8, outputs["b8"])
    table, meta = read_fold(inputs["fold_four_d"], models=())
    fit = b8_flux_fit(dataset_from_fold(table, meta, None), fold_flux)
    fit_sno = fit["mu_hat"] * fold_flux / SNO_B8_FLUX_CM2_S

    total = cevns[cevns["sr"] == "all"].iloc[0]
    summary = {
        "references": {k: REFERENCES[k] for k in ("xenonnt_s2only", "xenonnt_2026", "xenonnt_lightwimp_2024")},
        "licences": {"xenonnt_s2only": "MIT", "xenonnt_2026": "CC-BY-4.0"},
        "conventions": {
            "b8_flux_cm2_s": SNO_B8_FLUX_CM2_S,
            "b8_flux_note": "the collaboration's (SNO NC); nufog's default B16-GS98 is 5.46e6",
            "quadrature": "bin_width (rate per keV x width of the energy bin around each node)",
            "fold_b8_flux_cm2_s": fold_flux,
        },
        "s2only_cevns": {
            "components": "8B (the release's cevns row is 8B only)",
            "ratio_total": float(total["ratio"]),
            "ratio_per_bin_range": [
                float(cevns[cevns["bin"] >= 0]["ratio"].min()),
                float(cevns[cevns["bin"] >= 0]["ratio"].max()),
            ],
            "ratio_total_with_hep": float(with_hep[with_hep["sr"] == "all"].iloc[0]["ratio"]),
        },
        "s2only_wimp6_template": {
            "ratio_mean": float(wimp6["ratio"].mean()),
            "ratio_range": [float(wimp6["ratio"].min()), float(wimp6["ratio"].max())],
        },
        "s2only_wimp_si": {
            "method": "asymptotic CLs, 90 % CL, median expected on the Asimov background-only data set",
            "ratio_range": [float(sens["ratio"].min()), float(sens["ratio"].max())],
            "fit_ok": bool(sens["fit_ok"].all()),
        },
        "xenonnt_2026_b8": {
            "ratio_sr0_sr1_vs_2024_templates": [float(x) for x in b8["ratio"].dropna()],
            "best_fit": {k: v for k, v in fit.items() if k != "scan"},
            "mu_hat_vs_sno_flux": fit_sno,
            "scan": fit["scan"],
        },
    }
    with io.atomic_path(outputs["summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=1, sort_keys=True))
    log.info(
        "S2-only CEvNS nufog/release (8B, SNO flux): %.4f (with hep %.4f)",
        total["ratio"],
        summary["s2only_cevns"]["ratio_total_with_hep"],
    )
    log.info("S2-only 6 GeV WIMP template ratio %.4f-%.4f", *summary["s2only_wimp6_template"]["ratio_range"])
    for r in sens.itertuples():
        log.info(
            "WIMP %5.1f GeV: median %.3g cm2 (release %.3g), ratio %.3f",
            r.mass_GeV,
            r.nufog_median,
            r.release_median,
            r.ratio,
        )
    log.info(
        "4-D 8B flux: mu = %.3f [%.3f, %.3f] x %.3g -> %.3g cm-2 s-1 (%.2f x SNO), Z = %.2f",
        fit["mu_hat"],
        *fit["mu_68"],
        fold_flux,
        fit["flux_hat_cm2_s"],
        fit_sno,
        fit["significance"],
    )


def io_root(inputs: dict, name: str):
    from pathlib import Path

    from nufog.inputs import REGISTRY_STAMP

    path = Path(inputs[name])
    return path.parent if path.name == REGISTRY_STAMP else path


if __name__ == "__main__":
    run(snakemake, main)  # noqa: F821
