"""The quick benchmark scripts still run (they print figures the README quotes; timings are not tested).

bench_limits.py had stopped at the first binned data set of config.yaml (issue 10) without any test noticing.
The slow ones (bench_workflow, bench_coherent, bench_toys_fc) are left to be run by hand.
"""

import os
import subprocess
import sys

import pytest

from ..conftest import DATA, NO_DATA, ROOT


@pytest.mark.skipif(DATA is None, reason=NO_DATA)
@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("bench_rates.py", [], "all three processes"),
        ("bench_limits.py", [], "14 limit curves x 200 masses"),
        ("bench_likelihood.py", ["--repeat", "1"], "fit_ok 200/200  (target <= 2 s)"),
    ],
)
def test_benchmark_runs(script, args, expected):
    env = {**os.environ, "NUFOG_DATA_MIRROR": str(DATA), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expected in proc.stdout, proc.stdout
