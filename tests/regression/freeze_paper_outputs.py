"""Freeze the paper configuration's outputs as the regression fixture (run once, by hand).

    snakemake --directory BUILD --configfile config.yaml --cores 2
    python tests/regression/freeze_paper_outputs.py BUILD

Reads ``BUILD/results/paper/`` (the paper config's ``run``) and writes ``tests/regression/paper_v0/``:
every limit curve (``limits.csv``), ``signal_limits.csv``, ``table1.csv`` and the COHERENT SM fit
with the NSI scan's minimum (``coherent_sm_fit.json``). The fixture in the repository was
made from commit 69874d9 (before the likelihood core of issue 8).
"""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from nufog.io import read_table

OUT = Path(__file__).resolve().parent / "paper_v0"


def main(build: Path) -> None:
    OUT.mkdir(exist_ok=True)
    rows = []
    for path in sorted((build / "results" / "paper" / "limits").glob("*.parquet")):
        df, meta = read_table(path)
        rows.append(
            pd.DataFrame(
                {
                    "model": meta["model"],
                    "experiment": meta["experiment"],
                    "m_med_MeV": df["m_med_MeV"],
                    "coupling_limit": df["coupling_limit"],
                }
            )
        )
    pd.concat(rows).to_csv(OUT / "limits.csv", index=False, float_format="%.8g")
    for name in ("signal_limits.csv", "table1.csv"):
        shutil.copyfile(build / "results" / "paper" / "tables" / name, OUT / name)
    fit = json.loads((build / "results" / "paper" / "coherent" / "sm_fit.json").read_text())
    keep = {k: v for k, v in fit.items() if k not in ("provenance", "units")}
    nsi = read_table(build / "results" / "paper" / "coherent" / "nsi_scan.parquet")[1]
    keep["nsi"] = {k: nsi[k] for k in ("best_fit", "chi2_min", "delta_chi2_sm")}
    (OUT / "coherent_sm_fit.json").write_text(json.dumps(keep, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
