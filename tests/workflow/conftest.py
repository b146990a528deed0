"""Workflow fixtures: run Snakemake as a subprocess (isolated logging), one small build per session.

Every test that reads outputs shares ``built``; a test that changes files works on ``built_copy``.
Each Snakemake call costs seconds of start-up, so calls that several tests inspect are made once:
the HTML report of the build (``report``) and the dry run of the small config (``ci_dry_run``).
"""

import os
import shutil
import subprocess

import pytest

from ..conftest import CONFIG, DATA, NO_DATA
from ..helpers import ROOT, snakemake_command

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


class _EarlyBuild:
    """The shared build, started in the background when the session's tests are collected.

    The unit tests run first and use one core; the build's jobs use the other meanwhile. The
    ``built`` fixture waits for it. Set NUFOG_TEST_EARLY_BUILD=0 to build only when first needed.
    """

    def __init__(self, workdir, logdir):
        self.workdir = workdir
        self.stdout, self.stderr = (open(logdir / name, "w+") for name in ("stdout", "stderr"))
        cmd = snakemake_command(workdir, (CONFIG, CI_CONFIG), 2)
        self.proc = subprocess.Popen(cmd, stdout=self.stdout, stderr=self.stderr, text=True, env=_environ())

    def wait(self, timeout=1800) -> subprocess.CompletedProcess:
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
        if self.proc.poll() is None:  # session ended (or timed out) before the build did
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_early: dict[str, _EarlyBuild] = {}


def pytest_collection_finish(session):
    if DATA is None or os.environ.get("NUFOG_TEST_EARLY_BUILD", "1") == "0" or session.config.option.collectonly:
        return
    if not any("built" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    # the tmp_path_factory fixture's object (a private attribute of pytest's tmpdir plugin: without it,
    # the build simply waits for its first use)
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    _early["build"] = _EarlyBuild(factory.mktemp("build"), factory.mktemp("build-log"))


def pytest_sessionfinish(session):
    if "build" in _early:
        early = _early.pop("build")
        early.stop()
        early.stdout.close()
        early.stderr.close()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The one complete build of the tiny config (tests/configs/ci.yaml); tests only read it."""
    if DATA is None:
        pytest.skip(NO_DATA)
    if "build" in _early:
        early = _early["build"]
        workdir, proc = early.workdir, early.wait()
    else:
        workdir = tmp_path_factory.mktemp("build")
        proc = snakemake(workdir, check=False)
    if proc.returncode != 0 and (reason := missing_input(proc)) and "NUFOG_DATA_MIRROR" not in os.environ:
        pytest.skip(f"download cache incomplete and no network: {reason}")
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return workdir


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
