"""Command line: ``python -m nufog info FILE.parquet`` prints a table's units and provenance;
``python -m nufog check-config FILE.yaml`` validates a config without running anything."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nufog import __version__


def _fail(message: str, code: int = 1) -> int:
    """One line on stderr naming the problem, no traceback."""
    print(f"nufog: {message}", file=sys.stderr)
    return code


def _info(path: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nufog.io import read_metadata

    if not Path(path).exists():
        return _fail(f"{path}: no such file", 2)
    if not Path(path).is_file():
        return _fail(f"{path}: not a file", 2)
    try:
        parquet = pq.ParquetFile(path)
        meta = read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        return _fail(f"{path}: not a Parquet file ({str(exc).splitlines()[0]})")
    except ValueError as exc:  # a Parquet file without nufog metadata
        return _fail(str(exc))
    prov = meta.get("provenance", {})
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
    from nufog.config import ConfigError, check_config_files, validate_config

    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        return _fail(f"config file {missing[0]}: no such file", 2)
    try:
        # merged as Snakemake does with several --configfile (later files win key by key), read
        # strictly: syntax errors with file and line, duplicate keys, ignored empty mappings
        validate_config(check_config_files(paths))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{', '.join(paths)}: valid")
    return 0


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
