"""Shared set-up of the benchmark scripts: the paper config, the input files from the mirror, and the
snakemake command line (one definition, in tests/helpers.py)."""

import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from nufog.config import load_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository's tests/ package (the benchmarks run from a checkout)

from tests.helpers import snakemake_command  # noqa: E402

__all__ = ["ROOT", "paper_config_and_inputs", "snakemake_command", "timed"]


def paper_config_and_inputs() -> tuple[dict, dict[str, Path]]:
    """Validated config.yaml and the input paths in $NUFOG_DATA_MIRROR (default ../shared/data)."""
    config = load_config(ROOT / "config.yaml")
    mirror = Path(os.environ.get("NUFOG_DATA_MIRROR", ROOT.parent / "shared" / "data"))
    manifest = yaml.safe_load((ROOT / "resources" / "inputs.yaml").read_text())["inputs"]
    files = {name: mirror / e["file"] for name, e in manifest.items()}
    missing = [str(p) for p in files.values() if not p.exists()]  # a release is a directory
    if missing:
        sys.exit(f"input mirror incomplete at {mirror} (missing {missing[:3]}...); set NUFOG_DATA_MIRROR")
    return config, files


def timed(fn, repeat: int):
    """(result, median wall [s], median CPU [s], minimum wall [s]) of ``repeat`` calls of ``fn``."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return out, float(np.median(wall)), float(np.median(cpu)), float(np.min(wall))
