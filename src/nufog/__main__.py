"""Command line.

- ``python -m nufog info FILE.parquet``: a table's units and provenance;
- ``python -m nufog check-config FILE.yaml [...]``: validate configs without running anything;
- ``nufog run [SNAKEMAKE OPTIONS]``: Snakemake with the same options, after reading every ``--configfile``
  strictly (Snakemake's command line parses those files before any workflow code runs, and its message for
  a YAML syntax error or an empty file names neither the file nor the line);
- ``python -m nufog upper-limit --observed N --background B [--sigma-b S] --method {wilks,cls,feldman_cousins}
  [--cl 0.9] [--reference background_only|best_fit] [--toys N --seed S]``: the upper limit on the signal
  count of a counting experiment, with the same likelihood core as the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _configfiles(args: list[str]) -> list[str]:
    """The files a Snakemake command line gives with ``--configfile``/``--configfiles`` (each option takes
    the arguments up to the next option; ``--configfile=FILE`` gives one)."""
    files, taking = [], False
    for arg in args:
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in ("--configfile", "--configfiles"):
            taking = not eq
            files += [value] if eq else []
        elif arg.startswith("-") and arg != "-":
            taking = False
        elif taking:
            files.append(arg)
    return files


def _run(args: list[str]) -> int:
    """Read the ``--configfile`` files strictly (file and line of a syntax error, an empty file, a duplicate
    key, an ignored empty mapping), then replace this process by Snakemake with the same arguments."""
    from importlib.util import find_spec

    from nufog.configfile import ConfigError, check_config_files

    if find_spec("snakemake") is None:
        return _fail("Snakemake is not installed here: uv sync (or pip install 'nufog[workflow]')", 2)
    files = _configfiles(args)
    missing = [p for p in files if not Path(p).is_file()]
    if missing:
        return _fail(f"config file {missing[0]}: no such file", 2)
    try:
        check_config_files(files)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "snakemake", *args])
    return 0  # not reached


def _why_no_limit(data) -> str:
    """Why a limit is flagged: a fit that did not converge, or one whose background normalisation ends on its
    bound (1 + sigma theta = 0: the count lies far below the background), where the result is not used."""
    import numpy as np

    from nufog.likelihood import Model

    model = Model(data)
    fit = model.profile(np.zeros(1), np.zeros(1, dtype=int))
    if fit.converged[0] and model.on_bound(fit.theta)[0]:
        return (
            "the background-only fit puts the background normalisation on its bound (1 + sigma theta = 0: the "
            "observed count lies far below the background): no limit is given from such a fit"
        )
    return "the fit did not converge: no limit"


def _upper_limit(args: argparse.Namespace) -> int:
    from nufog.inference import LimitSettings, coupling_limits, feldman_cousins_interval, signal_dataset

    n, b, sb = args.observed, args.background, args.sigma_b
    if not (n >= 0 and b > 0 and sb >= 0 and 0 < args.cl < 1):
        return _fail("need --observed >= 0, --background > 0, --sigma-b >= 0 and 0 < --cl < 1", 2)
    data = signal_dataset(n, b, sb)
    nuisance = f", background uncertainty {sb:g} profiled" if sb > 0 else ""
    if args.toys:
        if args.method != "cls":
            return _fail("--toys goes with --method cls", 2)
        from nufog.toys import toy_cls_upper

        try:
            s_up, err = toy_cls_upper(data, args.cl, args.toys, args.seed)
        except RuntimeError as exc:  # more than 1 % of the toy fits failed
            return _fail(str(exc))
        print(
            f"upper limit on the signal: {s_up:.4g} +- {err:.2g} (MC) events at {args.cl:g} CL "
            f"(CLs, {args.toys} toys, seed {args.seed}{nuisance}; n = {n:g}, b = {b:g})"
        )
        return 0
    if args.method == "feldman_cousins" and sb > 0:  # profiled background: the asymptotic construction
        out = coupling_limits(data, LimitSettings(cl=args.cl, method="feldman_cousins", profile=True))
        if not out["fit_ok"][0]:
            return _fail(_why_no_limit(data))
        lo, up = out["coupling_lower"][0], out["coupling_limit"][0]
        print(
            f"upper limit on the signal: {up:.4g} events at {args.cl:g} CL "
            f"(Feldman-Cousins, asymptotic, interval [{lo:.4g}, {up:.4g}]{nuisance}; n = {n:g}, b = {b:g})"
        )
        return 0
    if args.method == "feldman_cousins":
        if n != round(n):
            return _fail(f"--observed {n:g}: Feldman-Cousins needs a whole count (or --sigma-b: asymptotic)", 2)
        lo, up = feldman_cousins_interval(round(n), b, args.cl)
        print(
            f"upper limit on the signal: {up:.4g} events at {args.cl:g} CL "
            f"(Feldman-Cousins interval [{lo:.4g}, {up:.4g}]; n = {round(n)}, b = {b:g})"
        )
        return 0
    settings = LimitSettings(cl=args.cl, method=args.method, reference=args.reference, profile=sb > 0)
    out = coupling_limits(data, settings)
    if not out["fit_ok"][0]:
        return _fail(_why_no_limit(data))
    kind = {"wilks": "Wilks, q = chi2.ppf(cl, 1)", "cls": "CLs"}[args.method]
    print(
        f"upper limit on the signal: {out['coupling_limit'][0]:.4g} events at {args.cl:g} CL "
        f"({kind}, {args.reference} reference{nuisance}; n = {n:g}, b = {b:g}; "
        f"expected {out['expected_median'][0]:.4g} [{out['expected_minus1'][0]:.4g}, {out['expected_plus1'][0]:.4g}])"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:  # every further argument is Snakemake's
        return _run(argv[1:])
    parser = argparse.ArgumentParser(
        prog="nufog", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"nufog {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="units and provenance of a nufog Parquet file")
    p_info.add_argument("path")
    p_check = sub.add_parser("check-config", help="validate config files (later ones override)")
    p_check.add_argument("paths", nargs="+")
    sub.add_parser("run", help="snakemake with the same options, after reading every --configfile strictly")
    p_ul = sub.add_parser("upper-limit", help="upper limit on the signal count of a counting experiment")
    p_ul.add_argument("--observed", type=float, required=True, help="observed events")
    p_ul.add_argument("--background", type=float, required=True, help="expected background events")
    p_ul.add_argument("--sigma-b", type=float, default=0.0, help="Gaussian background uncertainty [events]")
    p_ul.add_argument("--method", choices=["wilks", "cls", "feldman_cousins"], default="wilks")
    p_ul.add_argument("--cl", type=float, default=0.9, help="confidence level (default 0.9)")
    p_ul.add_argument("--reference", choices=["background_only", "best_fit"], default="background_only")
    p_ul.add_argument("--toys", type=int, default=0, help="CLs from this many toys (default: asymptotic/exact)")
    p_ul.add_argument("--seed", type=int, default=1, help="seed of the toys' generator")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info(args.path)
    if args.command == "upper-limit":
        return _upper_limit(args)
    return _check_config(args.paths)


if __name__ == "__main__":
    sys.exit(main())
