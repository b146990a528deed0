"""Command line: ``python -m nufog info FILE.parquet`` prints a table's units and provenance;
``python -m nufog check-config FILE.yaml`` validates a config without running anything."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nufog import __version__


def _info(path: str) -> int:
    import pyarrow.parquet as pq

    from nufog.io import read_metadata

    meta = read_metadata(path)
    prov = meta.get("provenance", {})
    parquet = pq.ParquetFile(path)
    print(f"{path}: {parquet.metadata.num_rows} rows")
    print("columns [unit]:")
    units = meta.get("units", {})
    for col in parquet.schema_arrow.names:
        print(f"  {col:32s} [{units.get(col, '?')}]")
    extras = {k: v for k, v in meta.items() if k not in ("units", "provenance")}
    for key, value in extras.items():
        print(f"{key}: {json.dumps(value)}")
    print(f"nufog version: {prov.get('nufog_version')}")
    print(f"config hash:   {prov.get('config_hash')}")
    print("input sha256:")
    for name, sha in prov.get("inputs_sha256", {}).items():
        print(f"  {name:32s} {sha}")
    return 0


def _check_config(paths: list[str]) -> int:
    import yaml

    from nufog.config import ConfigError, validate_config

    config: dict = {}
    for path in paths:
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    try:
        validate_config(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{', '.join(paths)}: valid")
    return 0


def _merge(base: dict, update: dict) -> None:
    """Deep merge, later files win (as Snakemake does with several --configfile)."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nufog", description=__doc__)
    parser.add_argument("--version", action="version", version=f"nufog {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="units and provenance of a nufog Parquet file")
    p_info.add_argument("path")
    p_check = sub.add_parser("check-config", help="validate config files (later ones override)")
    p_check.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info(args.path)
    return _check_config(args.paths)


if __name__ == "__main__":
    sys.exit(main())
