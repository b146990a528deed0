"""Parquet and figure output with units and provenance, written atomically.

Every table carries, in its Parquet schema metadata under the key ``nufog``, a JSON document with
the unit of every column, the sha256 of the config section that produced it, the sha256 of
each input file and the package version. Files are written to a temporary name and renamed, so
a killed job never leaves a file that looks complete, and the bytes depend only on the data
(no timestamps), so two builds give identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nufog import __version__
from nufog.inputs import umask_mode

if TYPE_CHECKING:  # pandas is imported where a DataFrame is made (it costs a job ~0.3 s of imports)
    import pandas as pd

__all__ = [
    "atomic_path",
    "config_hash",
    "provenance",
    "write_table",
    "write_text",
    "read_table",
    "read_columns",
    "read_metadata",
    "schema_metadata",
    "to_numpy",
    "from_numpy",
    "save_figure",
    "METADATA_KEY",
]

METADATA_KEY = b"nufog"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    The file gets the permissions of a normally created file (0666 minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _canonical(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def config_hash(params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a (nested) parameter mapping.

    >>> config_hash({"b": 1, "a": [1.0, 2]}) == config_hash({"a": [1.0, 2], "b": 1})
    True
    """
    text = json.dumps(_canonical(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def provenance(params: Mapping[str, Any], input_sha256: Mapping[str, str]) -> dict[str, Any]:
    """The provenance block stored with every output."""
    return {
        "config_hash": config_hash(params),
        "config": _canonical(params),
        "inputs_sha256": dict(sorted(input_sha256.items())),
        "nufog_version": __version__,
    }


def write_table(
    df: pd.DataFrame | Mapping[str, np.ndarray],
    path: str | Path,
    units: Mapping[str, str],
    prov: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write ``df`` to Parquet with units and provenance metadata, deterministically and atomically.

    ``df`` is a DataFrame or a mapping of column name to 1-D array (no pandas needed; NaN is stored
    as null either way, so numeric and boolean columns give the same bytes both ways). Every column
    needs a unit (``"1"`` for dimensionless, ``""`` for labels).
    """
    columns = list(df.keys())
    missing = [c for c in columns if c not in units]
    if missing:
        raise ValueError(f"columns without a unit: {missing}")
    meta = {"units": {c: units[c] for c in columns}, "provenance": _canonical(dict(prov))}
    if extra:
        meta.update(_canonical(dict(extra)))
    if isinstance(df, Mapping):
        table = pa.table({c: from_numpy(df[c]) for c in columns})
    else:
        table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The nufog metadata (units, provenance, extras) of a Parquet file."""
    return schema_metadata(pq.read_schema(path), path)


def schema_metadata(schema: pa.Schema, path: str | Path) -> dict[str, Any]:
    """The nufog metadata of a table already read (``path`` names it in the error if there is none)."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} has no nufog metadata: was it written by nufog.io.write_table?")
    return json.loads(raw)


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """DataFrame and metadata of a Parquet file written by :func:`write_table`."""
    return pq.read_table(path).to_pandas(), read_metadata(path)


def read_columns(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Columns (NumPy arrays, by name) and metadata of a Parquet file written by :func:`write_table`.

    As :func:`read_table` without pandas, for jobs that only need arrays (the figures).
    """
    with pq.ParquetFile(path) as f:  # not pq.read_table, whose dataset layer imports pandas
        table = f.read()
    return {name: to_numpy(table[name]) for name in table.column_names}, schema_metadata(table.schema, path)


_NUMPY_TYPES = {
    pa.float64(): np.float64,
    pa.float32(): np.float32,
    pa.int64(): np.int64,
    pa.int32(): np.int32,
}


def from_numpy(values) -> pa.Array:
    """An Arrow array of a 1-D NumPy array, NaN as null (as ``pa.Table.from_pandas`` stores it).

    Floats, integers and booleans are wrapped from their buffers: ``pa.array`` of a NumPy array imports
    pandas (~0.3 s of a job's start-up). Other types go through ``pa.array``.

    >>> from_numpy(np.array([1.5, np.nan])).to_pylist(), from_numpy(np.array([True, False])).to_pylist()
    ([1.5, None], [True, False])
    """
    if isinstance(values, pa.Array):  # already Arrow (e.g. a string column from string_array)
        return values
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"a column must be 1-d, got shape {arr.shape}")
    if arr.dtype == bool:
        return pa.Array.from_buffers(pa.bool_(), arr.size, [None, pa.py_buffer(np.packbits(arr, bitorder="little"))])
    for arrow, dtype in _NUMPY_TYPES.items():
        if arr.dtype == dtype:
            data = pa.py_buffer(np.ascontiguousarray(arr))
            nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.size, dtype=bool)
            if not nan.any():
                return pa.Array.from_buffers(arrow, arr.size, [None, data])
            valid = pa.py_buffer(np.packbits(~nan, bitorder="little"))
            return pa.Array.from_buffers(arrow, arr.size, [valid, data], null_count=int(nan.sum()))
    return pa.array(arr, from_pandas=True)


def string_array(values: Sequence[str]) -> pa.Array:
    """An Arrow string array of Python strings, built from its buffers (``pa.array`` of a list imports
    pandas, ~0.3 s of a job's start-up).

    >>> string_array(["a", "", "déf"]).to_pylist()
    ['a', '', 'déf']
    """
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A NumPy copy of a Parquet column: floats with nulls as NaN, integers, booleans, else (strings) an
    array of Python values.

    Read from the Arrow buffers: pyarrow's own ``to_numpy`` imports pandas (~0.3 s of a job's start-up).

    >>> to_numpy(pa.chunked_array([[1.5, None], [3.0]])).tolist()
    [1.5, nan, 3.0]
    >>> to_numpy(pa.array([True, False, True])).tolist(), to_numpy(pa.array(["a", "b"])).tolist()
    ([True, False, True], ['a', 'b'])
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n, offset = len(arr), arr.offset
    if pa.types.is_boolean(arr.type) or arr.type in _NUMPY_TYPES:
        validity, data = arr.buffers()[:2]
        if n == 0:
            values = np.zeros(0, dtype=bool if pa.types.is_boolean(arr.type) else _NUMPY_TYPES[arr.type])
        elif pa.types.is_boolean(arr.type):
            values = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[offset : offset + n].astype(bool)
        else:
            dtype = np.dtype(_NUMPY_TYPES[arr.type])
            values = np.frombuffer(data, dtype, count=n, offset=offset * dtype.itemsize).copy()
        if arr.null_count:
            valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")[offset : offset + n]
            if not pa.types.is_floating(arr.type):
                raise ValueError(f"a {arr.type} column has nulls: only float columns may (as NaN)")
            values[valid == 0] = np.nan
        return values
    return np.array(arr.to_pylist())


def save_figure(fig, path: str | Path, **kwargs: Any) -> None:
    """Save a figure without a creation date (reproducible bytes), atomically.

    PDFs get ``CreationDate=None``; PNGs no ``Software`` text chunk with a version.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    metadata = {"pdf": {"CreationDate": None, "Producer": None}, "png": {"Software": None}}.get(fmt)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, metadata=metadata, **kwargs)
