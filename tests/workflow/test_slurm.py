"""A real cluster run: the small config through profiles/slurm gives the local build's bytes.

Needs a SLURM cluster that answers ``sinfo``, e.g. the single-node one that
``tools/slurm/start_local_cluster.sh`` starts (README, "Running on a cluster"); skipped otherwise::

    python -m pytest -m slurm tests/workflow/test_slurm.py

Only ``results/`` is compared, never rule names: the rules may change, the outputs may not.
"""

import os
import shutil
import subprocess

import pytest
import yaml

from ..conftest import CONFIG, DATA, ROOT
from ..helpers import snakemake_command
from .conftest import CI_CONFIG

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

PROFILE = ROOT / "profiles" / "slurm"
COMPARED = ("*.parquet", "*.csv", "*.json", "*.pdf", "*.png", "*.md")
TIMEOUT_S = int(os.environ.get("NUFOG_SLURM_TEST_TIMEOUT", "2400"))
START = "start one with tools/slurm/start_local_cluster.sh"


def default_partition():
    """(name, CPUs per node, memory per node in MB) of the cluster's default partition, or skip."""
    if shutil.which("sinfo") is None:
        pytest.skip(f"no SLURM cluster: sinfo not found ({START})")
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P %c %m"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip(f"no SLURM cluster answers sinfo within 30 s ({START})")
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not rows:
        pytest.skip(f"no SLURM cluster answers sinfo ({START})")
    name, cpus, mem_mb = next((r for r in rows if r[0].endswith("*")), rows[0])
    return name.rstrip("*"), int(cpus.rstrip("+")), int(mem_mb.rstrip("+"))


def local_default_resources(partition):
    """The profile's default-resources with this cluster's partition and no account.

    ``--default-resources`` replaces the profile's whole block, so every key is repeated; the
    account is dropped (no accounting database: the plugin then submits without one).
    """
    block = yaml.safe_load((PROFILE / "config.yaml").read_text())["default-resources"]
    block = {k: v for k, v in block.items() if k != "slurm_account"}
    block["slurm_partition"] = partition
    return [f"{k}={v}" for k, v in block.items()]


def cancel_jobs_in(workdir):
    """Cancel this build's SLURM jobs (those whose working directory is ``workdir``)."""
    proc = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True, timeout=30)
    ids = [job for job, _, wd in (line.partition(" ") for line in proc.stdout.splitlines()) if wd == str(workdir)]
    if ids:
        subprocess.run(["scancel", *ids], timeout=30)


@pytest.fixture(scope="session")
def cluster():
    """The default partition. Session scope, listed before ``built``: skips before any build."""
    return default_partition()


def slurm_build(workdir, partition, cpus, mem_mb):
    """Build the small config through the SLURM profile; return the CompletedProcess."""
    args = [
        "--workflow-profile", str(PROFILE),
        "--default-resources", *local_default_resources(partition),
        # no accounting database: squeue (finished jobs stay for MinJobAge) instead of sacct
        "--slurm-status-command", "squeue",
        # poll squeue every second (the plugin adds 10 s per round in which no job finished, and goes
        # back to this after one did); the defaults, 40 s and 10 s, leave a small build mostly waiting
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1",
        # group jobs sized to this cluster's node (trap 2 in the README)
        "--cores", str(cpus),
        "--resources", f"mem_mb={mem_mb}",
    ]  # fmt: skip
    # Snakemake ignores SIGTERM while it believes jobs are running: KILL 60 s later.
    cmd = ["timeout", "-k", "60", str(TIMEOUT_S), *snakemake_command(workdir, (CONFIG, CI_CONFIG), cpus, *args)]
    env = {**os.environ, **({"NUFOG_DATA_MIRROR": str(DATA)} if DATA else {}), "MPLBACKEND": "Agg"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir, timeout=TIMEOUT_S + 120)
    finally:
        cancel_jobs_in(workdir)
    log = f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    if proc.returncode in (124, 137):
        raise AssertionError(f"the SLURM build did not finish within {TIMEOUT_S} s:\n{log}")
    assert proc.returncode == 0, f"the SLURM build failed ({proc.returncode}):\n{log}"
    return proc


def outputs(workdir):
    return sorted(p.relative_to(workdir) for pattern in COMPARED for p in (workdir / "results").rglob(pattern))


def test_slurm_build_matches_local_build(cluster, built, tmp_path):
    workdir = tmp_path / "slurm"
    # the local build's input cache, times kept: the downloads are local rules (never submitted), so
    # the SLURM build starts at the first job that reads them
    shutil.copytree(built / "resources", workdir / "resources")
    proc = slurm_build(workdir, *cluster)
    log = proc.stdout + proc.stderr
    assert "SLURM jobid" in log, "no job was submitted to SLURM"
    assert "download_input" not in log

    local, remote = outputs(built), outputs(workdir)
    assert remote == local and len(local) > 40, f"different output files: {set(local) ^ set(remote)}"
    different = [str(p) for p in local if (built / p).read_bytes() != (workdir / p).read_bytes()]
    assert not different, f"outputs differ between the SLURM and the local build: {different}"
