"""A real cluster run: the small config through profiles/slurm gives the local build's bytes.

Needs a SLURM cluster that answers ``sinfo``, e.g. the single-node one that
``tools/slurm/start_local_cluster.sh`` starts (README, "Running on a cluster"); skipped otherwise::

    python -m pytest -m slurm tests/workflow/test_slurm.py

The build (fixture ``slurm_build``, command in slurm.py) starts in the background when the tests are
collected, beside the local one. Only ``results/`` is compared, never rule names: the rules may
change, the outputs may not.
"""

import re

import pytest

from .slurm import TIMEOUT_S

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

COMPARED = ("*.parquet", "*.csv", "*.json", "*.pdf", "*.png", "*.md")
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")


def outputs(workdir):
    return sorted(p.relative_to(workdir) for pattern in COMPARED for p in (workdir / "results").rglob(pattern))


def test_slurm_build_matches_local_build(slurm_build, built):
    workdir, proc = slurm_build
    log = f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    if proc.returncode in (124, 137):
        raise AssertionError(f"the SLURM build did not finish within {TIMEOUT_S} s:\n{log}")
    assert proc.returncode == 0, f"the SLURM build failed ({proc.returncode}):\n{log}"
    log = proc.stdout + proc.stderr
    submissions = [m.start() for m in SUBMITTED.finditer(log)]
    assert len(submissions) >= 2, "fewer than two jobs were submitted to SLURM"
    # a later submission waited for an earlier job's results: ordering across SLURM jobs
    assert re.search(r"^Finished jobid", log[submissions[0] : submissions[-1]], flags=re.M), "no job waited"
    # the downloads ran, as local jobs (network on the submit host), and none on SLURM
    assert re.search(r"^localrule download_input:", log, flags=re.M), "no local download job"
    assert not re.search(r"^\s*rule download_", log, flags=re.M), "a download job was submitted to SLURM"

    local, remote = outputs(built), outputs(workdir)
    assert remote == local and len(local) > 40, f"different output files: {set(local) ^ set(remote)}"
    different = [str(p) for p in local if (built / p).read_bytes() != (workdir / p).read_bytes()]
    assert not different, f"outputs differ between the SLURM and the local build: {different}"
