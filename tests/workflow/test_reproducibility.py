"""Same inputs, same bytes: two builds in different directories give identical outputs."""

import pytest

from .conftest import snakemake

pytestmark = pytest.mark.workflow

COMPARED = ("*.parquet", "*.pdf", "*.png", "*.csv", "*.md", "*.json")


def test_two_builds_are_byte_identical(built, tmp_path):
    snakemake(tmp_path)
    first = sorted(p.relative_to(built) for pattern in COMPARED for p in (built / "results").rglob(pattern))
    second = sorted(p.relative_to(tmp_path) for pattern in COMPARED for p in (tmp_path / "results").rglob(pattern))
    assert first == second and len(first) > 40
    different = [str(p) for p in first if (built / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not different, f"outputs differ between builds: {different}"
