"""Input manifest, download with retries, mirror copy and sha256 verification.

Every external file is named in ``resources/inputs.yaml`` with a pinned URL and a sha256. A file
is fetched into the cache by writing a temporary file next to the target, checking its sha256, and
renaming it into place only if it matches, so an interrupted or corrupt fetch never leaves a file
that looks complete.

Where there is no network, the files come from a *mirror* directory (same relative paths as
``file`` in the manifest): the environment variable ``NUFOG_DATA_MIRROR`` or the config key
``data.mirror``. When a mirror is set it is tried first (offline runs and CI need no network
time-outs); the URL is the fallback. The checksum is the same either way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = [
    "InputEntry",
    "InputError",
    "load_manifest",
    "sha256_of",
    "fetch",
    "verify",
    "resolve_mirror",
    "MIRROR_ENV",
    "umask_mode",
]

MIRROR_ENV = "NUFOG_DATA_MIRROR"
log = logging.getLogger(__name__)


class InputError(RuntimeError):
    """An input could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class InputEntry:
    """One manifest entry."""

    name: str
    file: str
    url: str
    sha256: str
    reference: str
    licence: str
    upstream: str | None = None


def load_manifest(path: str | Path) -> dict[str, InputEntry]:
    """Read the input manifest; every entry needs file, url, sha256, reference and licence."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, dict) or "inputs" not in raw:
        raise InputError(f"{path}: expected a mapping with key 'inputs'")
    out = {}
    for name, entry in raw["inputs"].items():
        missing = {"file", "url", "sha256", "reference", "licence"} - set(entry)
        if missing:
            raise InputError(f"{path}: input {name!r} lacks {sorted(missing)}")
        if len(entry["sha256"]) != 64:
            raise InputError(f"{path}: input {name!r} has a malformed sha256")
        out[name] = InputEntry(name=name, **entry)
    return out


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` with the process umask applied: the permissions ``open`` would give a new file
    (``tempfile.mkstemp`` always creates 0600, whatever the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve_mirror(config_value: str | None) -> Path | None:
    """The mirror directory: ``NUFOG_DATA_MIRROR`` if set, else the config value, else None."""
    value = os.environ.get(MIRROR_ENV) or config_value
    return Path(value).expanduser().resolve() if value else None


def verify(path: str | Path, entry: InputEntry) -> None:
    """Raise :class:`InputError` if ``path`` is missing or its sha256 differs from the manifest."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input {entry.name!r}: {path} does not exist; run `snakemake {path}`")
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise InputError(
            f"input {entry.name!r}: {path} is corrupt or was changed "
            f"(sha256 {actual}, expected {entry.sha256}). Delete it and rerun snakemake with --forcerun "
            "naming the rule that reads it, to fetch it again and redo that rule's jobs."
        )


def _download(url: str, dest: Path, timeout_s: float) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "nufog"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp, open(dest, "wb") as fh:
        shutil.copyfileobj(resp, fh)


def fetch(
    entry: InputEntry,
    dest: str | Path,
    mirror: str | Path | None = None,
    timeout_s: float = 60.0,
    retries: int = 3,
) -> str:
    """Fetch one input into ``dest`` and verify it; return where it came from.

    Tries the mirror first when one is given, then the URL ``retries`` times with exponential
    back-off. Raises :class:`InputError` naming the input, URL, checksums and the mirror
    variable if nothing gave the right bytes. ``dest`` is only ever created complete.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempts: list[str] = []
    sources: list[tuple[str, str]] = []
    if mirror is not None:
        sources.append(("mirror", str(Path(mirror) / entry.file)))
    sources += [("url", entry.url)] * max(1, retries)
    for i, (kind, where) in enumerate(sources):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if kind == "mirror":
                if not Path(where).is_file():
                    attempts.append(f"mirror: {where} does not exist")
                    continue
                shutil.copyfile(where, tmp)
            else:
                if i > 0 and sources[i - 1][0] == "url":
                    time.sleep(min(2.0 ** (i - 1), 30.0))
                _download(where, tmp, timeout_s)
            actual = sha256_of(tmp)
            if actual != entry.sha256:
                attempts.append(f"{kind}: {where} has sha256 {actual}, expected {entry.sha256}")
                continue
            os.chmod(tmp, umask_mode())  # mkstemp creates 0600
            os.replace(tmp, dest)
            log.info("fetched %s from %s %s (sha256 ok)", entry.name, kind, where)
            return f"{kind}:{where}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            attempts.append(f"{kind}: {where}: {exc}")
            log.warning("fetching %s from %s failed: %s", entry.name, kind, exc)
        finally:
            tmp.unlink(missing_ok=True)
    tried = "\n  ".join(attempts)
    raise InputError(
        f"could not fetch input {entry.name!r} ({entry.file}).\n  {tried}\n"
        f"Without network, set {MIRROR_ENV}=/path/to/mirror (or config data.mirror) to a directory "
        f"holding {entry.file}; its sha256 must be {entry.sha256}."
    )


def checksums(paths: Mapping[str, str | Path]) -> dict[str, str]:
    """sha256 of each named file, for provenance."""
    return {name: sha256_of(p) for name, p in sorted(paths.items())}
