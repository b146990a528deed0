"""Glue for Snakemake ``script:`` files: logging to the rule's log, and a plain ``main`` call.

Every script in ``scripts/`` defines ``main(inputs, outputs, params)`` (plain dicts, callable from
tests and notebooks) and ends with::

    if __name__ == "__main__":
        run(snakemake, main)   # noqa: F821  (injected by Snakemake)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["run", "named", "verify_inputs"]


def verify_inputs(inputs: dict[str, Any], expected: dict[str, str], rule: str | None = None) -> None:
    """Check cached inputs against the manifest before use: a corrupt cache is never read.

    The message says how to recover: delete the file and rerun with ``--forcerun`` for this
    job's rule. A plain rerun is not enough: when the final outputs exist, Snakemake finds them up
    to date and skips the jobs whose outputs this failure removed (observed: "Nothing to be done").
    """
    from nufog.inputs import InputError, sha256_of

    for name, sha in expected.items():
        actual = sha256_of(inputs[name])
        if actual != sha:
            raise InputError(
                f"cached input {name!r} at {inputs[name]} is corrupt (sha256 {actual}, expected {sha}); "
                f"delete it and rerun: rm {inputs[name]} && snakemake <your options and targets> "
                f"--forcerun {rule or '<this rule>'} (this fetches it again and redoes the jobs it failed)"
            )


def named(io: Any) -> dict[str, Any]:
    """Snakemake's Namedlist as a plain dict (positional entries under their index)."""
    keys = dict(io.items()) if hasattr(io, "items") else {}
    if keys:
        return {k: v for k, v in keys.items()}
    return {str(i): v for i, v in enumerate(io)}


#: Third-party loggers that write pages of INFO/DEBUG lines (fontTools subsetting every PDF font,
#: matplotlib's font manager, PIL's PNG chunks): only their warnings reach the rule's log.
QUIET_LOGGERS = ("fontTools", "matplotlib", "PIL")


def run(snakemake: Any, main: Callable[..., Any]) -> Any:
    """Log to ``snakemake.log[0]`` (file and stderr) and call ``main(inputs, outputs, params)``."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if len(snakemake.log):
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    log = logging.getLogger(f"nufog.rule.{snakemake.rule}")
    log.info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards.items()))
    params = dict(snakemake.params.items())
    params["wildcards"] = dict(snakemake.wildcards.items())
    inputs = named(snakemake.input)
    verify_inputs(inputs, params.get("input_sha256", {}), snakemake.rule)
    try:
        return main(inputs, named(snakemake.output), params)
    except Exception:
        log.exception("rule %s failed", snakemake.rule)
        raise
