"""Inputs (fetch, mirror, checksum) and outputs (Parquet metadata, atomic and deterministic)."""

import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nufog import io
from nufog.inputs import (
    REGISTRY_STAMP,
    InputEntry,
    InputError,
    fetch,
    load_manifest,
    member_entries,
    sha256_of,
    umask_mode,
    verify,
)
from nufog.scripting import verify_inputs

from ..conftest import CACHE, DATA, MANIFEST, NO_DATA


def entry_for(tmp_path, content=b"hello neutrinos\n", url="http://127.0.0.1:9/none"):
    (tmp_path / "mirror" / "sub").mkdir(parents=True)
    (tmp_path / "mirror" / "sub" / "f.txt").write_bytes(content)
    return InputEntry("f", "sub/f.txt", url, hashlib.sha256(content).hexdigest(), "ref", "CC0")


def test_manifest_covers_mirror_with_matching_checksums():
    entries = load_manifest(MANIFEST)
    assert len(entries) >= 20
    for e in entries.values():
        assert e.url.startswith("https://raw.githubusercontent.com/") and len(e.url.split("/")[5]) == 40
    if DATA is None:
        pytest.skip(NO_DATA)
    # a mirror holds every input; a build's download cache only those its config needed
    present = [e for e in entries.values() if DATA != CACHE or (DATA / e.file).is_file()]
    for e in present:
        if e.is_registry:
            verify(DATA / e.file, e)  # every member of the release
        else:
            assert sha256_of(DATA / e.file) == e.sha256, e.name


def registry_for(tmp_path, files):
    """A registry entry over ``files`` (relative path -> bytes) in a mirror under tmp_path."""
    lines = ["# test registry"]
    for rel, content in files.items():
        (tmp_path / "mirror" / "rel" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mirror" / "rel" / rel).write_bytes(content)
        lines.append(f"{rel} {hashlib.sha256(content).hexdigest()}")
    (tmp_path / "registries").mkdir(exist_ok=True)
    (tmp_path / "registries" / "r.txt").write_text("\n".join(lines) + "\n")
    sha = sha256_of(tmp_path / "registries" / "r.txt")
    (tmp_path / "inputs.yaml").write_text(
        "inputs:\n  rel:\n    file: rel\n    registry: registries/r.txt\n"
        f"    url: http://127.0.0.1:9/base/\n    sha256: {sha}\n    reference: ref\n    licence: CC0\n"
    )
    return load_manifest(tmp_path / "inputs.yaml")["rel"]


def test_registry_entry_fetches_every_member(tmp_path):
    e = registry_for(tmp_path, {"a.txt": b"A", "sub/b.h5": b"BB"})
    members = member_entries(e)
    assert [m.file for m in members] == ["rel/a.txt", "rel/sub/b.h5"]
    assert members[1].url == "http://127.0.0.1:9/base/sub/b.h5"
    dest = tmp_path / "cache" / "rel"
    assert fetch(e, dest, mirror=tmp_path / "mirror", retries=1) == "registry:2 from mirror"
    assert (dest / "sub" / "b.h5").read_bytes() == b"BB" and (dest / REGISTRY_STAMP).is_file()
    verify(dest, e)
    stamp = (dest / REGISTRY_STAMP).read_bytes()
    assert (dest / REGISTRY_STAMP).stat().st_mode & 0o777 == umask_mode()  # not mkstemp's 0600
    # a second fetch keeps the verified files, and writes the same stamp: the stamp's sha256 is the
    # provenance of every output that reads the release, whatever the files came from
    assert fetch(e, dest, mirror=tmp_path / "mirror", retries=1) == "registry:2 from cache"
    assert (dest / REGISTRY_STAMP).read_bytes() == stamp == f"rel {e.sha256} 2 files\n".encode()


def test_registry_member_corrupt_or_registry_changed_is_rejected(tmp_path):
    e = registry_for(tmp_path, {"a.txt": b"A", "b.txt": b"B"})
    (tmp_path / "mirror" / "rel" / "b.txt").write_bytes(b"tampered")
    dest = tmp_path / "cache" / "rel"
    with pytest.raises(InputError, match="rel:b.txt"):
        fetch(e, dest, mirror=tmp_path / "mirror", timeout_s=2, retries=1)
    assert not (dest / REGISTRY_STAMP).exists() and not (dest / "b.txt").exists()
    with (tmp_path / "registries" / "r.txt").open("a") as fh:
        fh.write("c.txt " + "0" * 64 + "\n")
    with pytest.raises(InputError, match="the manifest pins"):
        member_entries(e)


def test_fetch_from_mirror_verifies(tmp_path):
    e = entry_for(tmp_path)
    dest = tmp_path / "cache" / "sub" / "f.txt"
    assert fetch(e, dest, mirror=tmp_path / "mirror", retries=1).startswith("mirror:")
    verify(dest, e)
    assert not list(dest.parent.glob("*.part"))


def test_corrupt_mirror_and_no_network_give_one_clear_error(tmp_path):
    e = entry_for(tmp_path)
    (tmp_path / "mirror" / "sub" / "f.txt").write_bytes(b"tampered")
    dest = tmp_path / "cache" / "f.txt"
    with pytest.raises(InputError) as err:
        fetch(e, dest, mirror=tmp_path / "mirror", timeout_s=2, retries=1)
    msg = str(err.value)
    assert "'f'" in msg and e.url in msg and e.sha256 in msg and "NUFOG_DATA_MIRROR" in msg
    assert hashlib.sha256(b"tampered").hexdigest() in msg
    assert not dest.exists() and not list(dest.parent.glob("*"))  # nothing half-written


def test_missing_mirror_file_is_reported(tmp_path):
    e = entry_for(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        fetch(e, tmp_path / "c" / "f.txt", mirror=tmp_path / "elsewhere", timeout_s=2, retries=1)


def test_corrupt_cache_is_detected_before_use(tmp_path):
    e = entry_for(tmp_path)
    dest = tmp_path / "cache.txt"
    dest.write_bytes(b"truncat")
    with pytest.raises(InputError, match="corrupt"):
        verify(dest, e)
    with pytest.raises(InputError, match="delete it and rerun"):
        verify_inputs({"f": dest}, {"f": e.sha256})


def test_parquet_roundtrip_units_and_provenance(tmp_path):
    df = pd.DataFrame({"e_keV": [1.0, 2.0], "rate_total": [3.0, 4.0]})
    prov = io.provenance({"a": 1}, {"x": "0" * 64})
    io.write_table(df, tmp_path / "t.parquet", {"e_keV": "keV", "rate_total": "1/(t yr keV)"}, prov)
    back, meta = io.read_table(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, df)
    assert meta["units"]["rate_total"] == "1/(t yr keV)"
    assert meta["provenance"]["config_hash"] == io.config_hash({"a": 1})
    with pytest.raises(ValueError, match="without a unit"):
        io.write_table(df, tmp_path / "u.parquet", {"e_keV": "keV"}, prov)


def test_outputs_are_byte_identical(tmp_path):
    df = pd.DataFrame({"x": np.linspace(0, 1, 50), "y": np.exp(np.linspace(0, 1, 50))})
    units = {"x": "1", "y": "1"}
    for name in ("a", "b"):
        io.write_table(df, tmp_path / f"{name}.parquet", units, io.provenance({}, {}))
        fig, ax = plt.subplots()
        ax.plot(df.x, df.y)
        io.save_figure(fig, tmp_path / f"{name}.pdf")
        io.save_figure(fig, tmp_path / f"{name}.png")
        plt.close(fig)
    for ext in ("parquet", "pdf", "png"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes(), ext


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_arrow_columns_round_trip_from_buffers():
    """io.to_numpy / io.from_numpy read and wrap Arrow buffers (pyarrow's own conversions import pandas):
    offsets of sliced arrays, validity bitmaps (NaN <-> null), bit-packed booleans."""
    import pyarrow as pa

    from nufog import io

    x = np.array([0.5, np.nan, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0, np.nan, 10.0])
    flags = np.arange(11) % 3 == 0
    for start in (0, 1, 3, 9):
        np.testing.assert_array_equal(io.to_numpy(io.from_numpy(x).slice(start)), x[start:])
        np.testing.assert_array_equal(io.to_numpy(io.from_numpy(flags).slice(start)), flags[start:])
        ints = pa.chunked_array([pa.array(np.arange(5)), pa.array(np.arange(5, 11))])  # two chunks
        np.testing.assert_array_equal(io.to_numpy(ints.slice(start)), np.arange(start, 11))
    assert io.from_numpy(x).null_count == 3 and io.from_numpy(x).to_pylist()[1] is None


def test_limit_files_are_written_and_read_without_pandas(tmp_path):
    """A limit job's Parquet I/O (write_table of a column mapping, read_columns), its library modules
    (nufog.fold with read_fold, nufog.inference) and a fold job's table (FoldTable, its Arrow string
    columns) import no pandas: it cost every job ~0.3 s of start-up."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from nufog import io\n"
        f"p = {str(tmp_path / 't.parquet')!r}\n"
        "io.write_table({'m': np.array([1.0, np.nan]), 'ok': np.array([True, False])}, p, {'m': 'MeV', 'ok': ''}, {})\n"
        "cols, meta = io.read_columns(p)\n"
        "assert np.isnan(cols['m'][1]) and cols['ok'].tolist() == [True, False], cols\n"
        "import nufog.fold, nufog.inference\n"
        "t = nufog.fold.FoldTable()\n"
        "t.add('b', 'background', '', None, 'nominal', np.ones(3))\n"
        "t.add('bsm_8B', 'lin', 'm', [1.0, 2.0], 'nominal', np.ones((2, 3)))\n"
        f"f = {str(tmp_path / 'f.parquet')!r}\n"
        "io.write_table(t.columns(), f, nufog.fold.FOLD_UNITS, {}, {'models': ['m']})\n"
        "blocks, meta = nufog.fold.read_fold(f, models=())\n"  # the row-group filter
        "assert list(blocks) == [('b', 'background', '', 'nominal')], blocks\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_job_modules_import_no_optional_heavy_packages():
    """The modules behind the fold, COHERENT and limit jobs import neither pandas, jsonschema (config
    validation) nor scipy.optimize (a COHERENT fit's rare restart, the 1-d NSI intervals) at import time:
    together ~0.6 s of every such job's start-up. Fails if one of them moves back to a module top."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import nufog.analysis, nufog.coherent, nufog.fold, nufog.inference, nufog.rates, nufog.config\n"
        "heavy = [m for m in ('pandas', 'jsonschema', 'scipy.optimize') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from nufog.config import validate_config\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
