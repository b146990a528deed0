"""Workflow fixtures: run Snakemake as a subprocess (isolated logging), one small build per session.

Every test that reads outputs shares ``built``; a test that changes files works on ``built_copy``.
Each Snakemake call costs seconds of start-up, so calls that several tests inspect are made once:
the HTML report of the build (``report``) and the dry run of the small config (``ci_dry_run``); and
each call is a process forked from one that has imported Snakemake already (``run_snakemake``).
The two builds (``built`` and, with a SLURM cluster, ``slurm_build``) start in the background when
the session's tests are collected; set NUFOG_TEST_EARLY_BUILD=0 to start each when first needed.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ..conftest import CONFIG, DATA, MANIFEST, NO_DATA
from ..helpers import ROOT, snakemake_command
from .slurm import TIMEOUT_S as SLURM_TIMEOUT_S
from .slurm import NoCluster, cancel_jobs_in, default_partition, seed_downloads, slurm_command

CI_CONFIG = ROOT / "tests" / "configs" / "ci.yaml"
SERVER = Path(__file__).with_name("snakemake_server.py")


def _environ(env=None):
    return {**os.environ, **({"NUFOG_DATA_MIRROR": str(DATA)} if DATA else {}), **(env or {})}


class _SnakemakeServer:
    """The session's snakemake_server.py: ``python -m snakemake`` calls forked from an interpreter that
    has imported Snakemake already (~1.5 s of CPU less per call)."""

    def __init__(self):
        self.stderr = tempfile.TemporaryFile("w+")  # its own errors (a call's go to the call's files)
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr
        )
        self._buffer = b""

    def _answer(self, timeout) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired(self.proc.args, timeout)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stderr.seek(0)
                raise RuntimeError(f"the Snakemake server ended ({self.proc.wait()}):\n{self.stderr.read()[-3000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, cmd, env, timeout) -> subprocess.CompletedProcess:
        assert cmd[:3] == [sys.executable, "-m", "snakemake"], cmd
        with tempfile.TemporaryDirectory(prefix="snakemake-call-") as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            call = {"args": cmd[3:], "cwd": os.getcwd(), "env": env, "stdout": str(out), "stderr": str(err)}
            self.proc.stdin.write(json.dumps(call).encode() + b"\n")
            self.proc.stdin.flush()
            pid = self._answer(60)["pid"]
            try:
                code = self._answer(timeout)["returncode"]
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)  # the call and its local jobs
                except ProcessLookupError:
                    os.kill(pid, signal.SIGKILL)  # not yet the leader of its group
                self._answer(60)
                raise subprocess.TimeoutExpired(cmd, timeout) from None
            return subprocess.CompletedProcess(cmd, code, out.read_text(), err.read_text())

    def close(self):
        self.proc.stdin.close()  # the server ends at the end of its input
        self.proc.stdout.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


_server: list[_SnakemakeServer] = []


def run_snakemake(cmd, env, timeout) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)`` for a
    ``python -m snakemake`` argv, forked from the session's Snakemake server (snakemake_server.py;
    NUFOG_TEST_FORK_SNAKEMAKE=0: a new process per call)."""
    if os.environ.get("NUFOG_TEST_FORK_SNAKEMAKE", "1") == "0":
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if not _server:
        _server.append(_SnakemakeServer())
    return _server[0].run(cmd, env, timeout)


def snakemake(workdir, *args, configfiles=(CONFIG, CI_CONFIG), check=True, env=None):
    """Run ``snakemake`` on the repository's Snakefile in ``workdir``; return the CompletedProcess.

    Inputs come from the tests' data directory (``NUFOG_DATA_MIRROR`` or the repository's download
    cache). ``args`` come last: give targets before options that take several values (``--forcerun``).
    """
    cmd = snakemake_command(workdir, configfiles, 2, *args)
    proc = run_snakemake(cmd, _environ(env), timeout=1800)  # busy machines
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
    seed_downloads(workdir, DATA, MANIFEST)
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
    while _server:
        _server.pop().close()


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
