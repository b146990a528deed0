"""Helpers shared by the tests and the benchmarks (not part of the library)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snakemake_command(workdir: str | Path, configfiles: Iterable[str | Path], cores: int = 2, *args: str) -> list[str]:
    """argv that runs this repository's workflow in ``workdir`` with the current interpreter.

    The config files come before ``--cores`` (which ends their list), then ``args``: give targets
    before options that take several values.
    """
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", *map(str, configfiles), "--cores", str(cores), *args,
    ]  # fmt: skip
