# Read config.yaml strictly before the `configfile:` directive loads it: Snakemake's own message for
# a YAML syntax error or an empty file names neither the file nor the line, and it keeps the last of
# two duplicate keys. (Files given with --configfile are loaded by the Snakemake command line before
# any of the workflow runs, so their syntax errors cannot be caught here: `nufog run` (Snakemake
# after a strict read of every --configfile) and `nufog check-config FILE...` name the file and
# line. Duplicate keys and empty mappings in them are caught in common.smk.)
from pathlib import Path as _Path

from nufog.config import ConfigError as _ConfigError
from nufog.config import read_config_file as _read_config_file
from snakemake.exceptions import WorkflowError as _WorkflowError

if _Path("config.yaml").is_file():
    try:
        _read_config_file("config.yaml")
    except _ConfigError as _exc:
        raise _WorkflowError(str(_exc)) from None
