"""Workflow fixtures: run Snakemake as a subprocess (isolated logging), one small build per session.

Every test that reads outputs shares ``built``; a test that changes files works on ``built_copy``.
Each Snakemake call costs seconds of start-up, so calls that several tests inspect are made once:
the HTML report of the build (``report``) and the dry run of the small config (``ci_dry_run``).
The two builds (``built`` and, with a SLURM cluster, ``slurm_build``) start in the background when
the session's tests are collected; set NUFOG_TEST_EARLY_BUILD=0 to start each when first needed.
"""

import os
import shutil
import signal
import subprocess

import pytest

from ..conftest import CONFIG, DATA, NO_DATA
from ..helpers import ROOT, snakemake_command
from .slurm import TIMEOUT_S as SLURM_TIMEOUT_S
from .slurm import NoCluster, cancel_jobs_in, default_partition, slurm_command

CI_CONFIG = ROOT / "tests" / "configs" / "ci.yaml"


def _environ(env=None):
    return {**os.environ, **({"NUFOG_DATA_MIRROR": str(DATA)} if DATA else {}), **(env or {})}


def snakemake(workdir, *args, configfiles=(CONFIG, CI_CONFIG), check=True, env=None):
    """Run ``snakemake`` on the repository's Snakefile in ``workdir``; return the CompletedProcess.

    Inputs come from the tests' data directory (``NUFOG_DATA_MIRROR`` or the repository's download
    cache). ``args`` come last: give targets before options that take several values (``--forcerun``).
    """
    cmd = snakemake_command(workdir, configfiles, 2, *args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_environ(env), timeout=1800)  # busy machines
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def missing_input(proc) -> str | None:
    """The download error of a failed run, if an input was neither in the data directory nor fetchable."""
    for line in (proc.stdout + proc.stderr).splitlines():
        if "could not fetch input" in line:
            return line.strip()
    return None


class _Background:
    """A Snakemake run started when the session's tests are collected, waited for by its fixture.

    Its output goes to files; it runs in a process group of its own, so that stopping it stops its
    local jobs too, and ``cleanup(workdir)`` then removes what it left elsewhere (SLURM jobs).
    """

    def __init__(self, cmd, workdir, logdir, env, cwd=None, cleanup=None):
        self.workdir, self.cleanup = workdir, cleanup
        self.stdout, self.stderr = (open(logdir / name, "w+") for name in ("stdout", "stderr"))
        self.proc = subprocess.Popen(
            cmd, stdout=self.stdout, stderr=self.stderr, text=True, env=env, cwd=cwd, start_new_session=True
        )

    def wait(self, timeout) -> subprocess.CompletedProcess:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        out = []
        for f in (self.stdout, self.stderr):
            f.seek(0)
            out.append(f.read())
            f.close()
        return subprocess.CompletedProcess(self.proc.args, code, *out)

    def stop(self):
        if self.proc.poll() is None:  # session ended (or timed out) before the run did
            for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
                except ProcessLookupError:
                    self.proc.wait()
                    break
        if self.cleanup is not None:
            self.cleanup, cleanup = None, self.cleanup
            cleanup(self.workdir)

    def close(self):
        self.stop()
        self.stdout.close()
        self.stderr.close()


def _start_build(tmp_path_factory) -> _Background:
    """The shared build (fixture ``built``): the unit tests run first and use one core; the build's
    jobs use the other meanwhile."""
    workdir = tmp_path_factory.mktemp("build")
    cmd = snakemake_command(workdir, (CONFIG, CI_CONFIG), 2)
    return _Background(cmd, workdir, tmp_path_factory.mktemp("build-log"), _environ())


def _start_slurm_build(tmp_path_factory, cluster) -> _Background:
    """The build through SLURM (fixture ``slurm_build``): mostly waiting for the cluster, so it
    overlaps every other test."""
    workdir = tmp_path_factory.mktemp("slurm")
    cmd = slurm_command(workdir, (CONFIG, CI_CONFIG), *cluster)
    env = _environ({"MPLBACKEND": "Agg"})
    return _Background(cmd, workdir, tmp_path_factory.mktemp("slurm-log"), env, cwd=workdir, cleanup=cancel_jobs_in)


_early: dict[str, _Background] = {}


def pytest_collection_finish(session):
    """Start the builds that the selected tests need in the background (NUFOG_TEST_EARLY_BUILD=0: each
    when its fixture is first used)."""
    if DATA is None or os.environ.get("NUFOG_TEST_EARLY_BUILD", "1") == "0" or session.config.option.collectonly:
        return
    # the tmp_path_factory fixture's object (a private attribute of pytest's tmpdir plugin: without it,
    # each build simply waits for its first use)
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    fixtures = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if "built" in fixtures:
        _early["build"] = _start_build(factory)
    if "slurm_build" in fixtures:
        try:
            cluster = default_partition()
        except NoCluster:
            return  # the fixture skips, with the reason
        _early["slurm"] = _start_slurm_build(factory, cluster)


def pytest_collection_modifyitems(session, config, items):
    """The SLURM test last, so that its background build overlaps every other test."""
    items.sort(key=lambda item: item.get_closest_marker("slurm") is not None)  # a stable sort


def pytest_sessionfinish(session):
    while _early:
        _early.popitem()[1].close()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The one complete build of the tiny config (tests/configs/ci.yaml); tests only read it."""
    if DATA is None:
        pytest.skip(NO_DATA)
    if "build" in _early:
        early = _early["build"]
        workdir, proc = early.workdir, early.wait(timeout=1800)
    else:
        workdir = tmp_path_factory.mktemp("build")
        proc = snakemake(workdir, check=False)
    if proc.returncode != 0 and (reason := missing_input(proc)) and "NUFOG_DATA_MIRROR" not in os.environ:
        pytest.skip(f"download cache incomplete and no network: {reason}")
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return workdir


@pytest.fixture(scope="session")
def slurm_build(tmp_path_factory):
    """(working directory, CompletedProcess) of the tiny config built through profiles/slurm, with its
    own downloads (local jobs); skips when no SLURM cluster answers. The test checks the outcome."""
    if "slurm" in _early:
        run = _early["slurm"]
    else:
        try:
            cluster = default_partition()
        except NoCluster as exc:
            pytest.skip(str(exc))
        if DATA is None:
            pytest.skip(NO_DATA)
        run = _start_slurm_build(tmp_path_factory, cluster)
    return run.workdir, run.wait(timeout=SLURM_TIMEOUT_S + 120)


@pytest.fixture
def built_copy(built, tmp_path):
    """A private copy of the shared build, file times kept (so Snakemake finds it up to date)."""
    return shutil.copytree(built, tmp_path / "build", symlinks=True)


@pytest.fixture(scope="session")
def report(built):
    """``results/ci/report.html`` of the shared build (``snakemake --report``), made once."""
    snakemake(built, "--report", "results/ci/report.html")
    return built / "results/ci/report.html"


@pytest.fixture(scope="session")
def ci_dry_run(tmp_path_factory):
    """Output of one dry run of the small config in an empty directory: every job it would run,
    with its outputs, logs and benchmarks (``snakemake -n``)."""
    proc = snakemake(tmp_path_factory.mktemp("ci-dry-run"), "-n")
    return proc.stdout + proc.stderr
