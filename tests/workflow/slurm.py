"""The small config built through profiles/slurm on a real cluster (test_slurm.py).

conftest.py starts this build in the background when the session's tests are collected (it takes
minutes, mostly waiting for SLURM), so that it overlaps every other test; ``cancel_jobs_in`` cleans
up after a build that was stopped.
"""

import os
import shutil
import subprocess

import yaml

from ..helpers import ROOT, snakemake_command

PROFILE = ROOT / "profiles" / "slurm"
TIMEOUT_S = int(os.environ.get("NUFOG_SLURM_TEST_TIMEOUT", "2400"))
START = "start one with tools/slurm/start_local_cluster.sh"

#: The small config's cluster jobs take seconds, and each SLURM job pays Snakemake start-ups (~2 s of CPU
#: each: the batch script's, then one per job in the job step), so they are bundled into four
#: submissions, two at a time for the node's two CPUs: the folds beside the jobs that read only
#: downloads; then the jobs that read the folds (which wait for the first, so ordering across SLURM jobs
#: is still exercised), in two halves balanced by their jobs' CPU time. (The plugin checks the status 1,
#: 12, 33, 64, 105 s after the last job it saw finish, so a stage's length is rounded up to the next of
#: these.) A rule missing here (renamed or new) is simply submitted on its own.
GROUPS = {
    "folds": ("fold", "fold_coherent"),
    "rates_coherent": (
        "tabulate_rates",
        "benchmark_spectra",
        "coherent_sm_fit",
        "coherent_nsi",
        "coherent_nsi_intervals",
        "coherent_limits",
    ),
    "limits_a": (
        "experiment_tables",
        "closure_xenonnt",
        "limits_xenonnt_2026",
        "limits_xenon_2026",
        "limits_pandax4t_s1s2",
        "limits_xlzd",
    ),
    "limits_b": (
        "limits_coherent_csi",
        "limits_xenon_2024_coherent",
        "limits_xenonnt_s2only_2026",
        "limits_pandax4t_s2only",
        "limits_xenonnt",
        "limits_xenon_2024",
    ),
}


class NoCluster(Exception):
    """No SLURM cluster answers (the message says why and how to start one)."""


def default_partition() -> tuple[str, int, int]:
    """(name, CPUs per node, memory per node in MB) of the cluster's default partition; raises NoCluster."""
    if shutil.which("sinfo") is None:
        raise NoCluster(f"no SLURM cluster: sinfo not found ({START})")
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P %c %m"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise NoCluster(f"no SLURM cluster answers sinfo within 30 s ({START})") from None
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not rows:
        raise NoCluster(f"no SLURM cluster answers sinfo ({START})")
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


def slurm_command(workdir, configfiles, partition, cpus, mem_mb) -> list[str]:
    """argv that builds ``configfiles`` in ``workdir`` through the SLURM profile, bounded by ``timeout``.

    The downloads are local rules: they run on this machine (from the data mirror), never on SLURM.
    """
    groups = [f"{rule}={group}" for group, rules in GROUPS.items() for rule in rules]
    args = [
        "--workflow-profile", str(PROFILE),
        "--default-resources", *local_default_resources(partition),
        # no accounting database: squeue (finished jobs stay for MinJobAge) instead of sacct
        "--slurm-status-command", "squeue",
        # poll squeue every second (the plugin adds 10 s per round in which no job finished, and goes
        # back to this after one did); the defaults, 40 s and 10 s, leave a small build mostly waiting
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1",
        # the job logs stay in .snakemake/slurm_logs (a failed test's record of where the time went)
        "--slurm-keep-successful-logs",
        # one submission per group (more components than it has jobs)
        "--groups", *groups,
        "--group-components", *(f"{group}=1000" for group in GROUPS),
        # local jobs (downloads, plots) use every CPU of this machine
        "--local-cores", str(cpus),
        # group jobs must fit this cluster's node (trap 2 in the README): at most its memory ...
        "--resources", f"mem_mb={mem_mb}",
    ]  # fmt: skip
    # ... and one CPU (--cores): the job step runs a group's jobs one at a time (the plugin starts it
    # with --jobs 1), so more CPUs would stay idle. Snakemake ignores SIGTERM while it believes jobs
    # are running: KILL 60 s later.
    return ["timeout", "-k", "60", str(TIMEOUT_S), *snakemake_command(workdir, configfiles, 1, *args)]


def seed_downloads(workdir, data_dir, manifest) -> None:
    """Copy the single-file inputs from ``data_dir`` into ``workdir``'s download cache, all but one.

    The local build checks every download; this build still fetches the data releases and one file
    through local jobs (the test checks that they run locally, never on SLURM), without spending ~10 s
    of its longest path on the rest.
    """
    entries = yaml.safe_load(manifest.read_text())["inputs"]
    files = [e["file"] for e in entries.values() if "registry" not in e and (data_dir / e["file"]).is_file()]
    for name in files[1:]:
        target = workdir / "resources" / "downloads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / name, target)


def cancel_jobs_in(workdir):
    """Cancel this build's SLURM jobs (those whose working directory is ``workdir``)."""
    if shutil.which("squeue") is None:
        return
    proc = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True, timeout=30)
    ids = [job for job, _, wd in (line.partition(" ") for line in proc.stdout.splitlines()) if wd == str(workdir)]
    if ids:
        subprocess.run(["scancel", *ids], timeout=30)
