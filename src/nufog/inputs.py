"""Input manifest, download with retries, mirror copy and sha256 verification.

Every external file is named in ``resources/inputs.yaml`` with a pinned URL and a sha256. A file
is fetched into the cache by writing a temporary file next to the target, checking its sha256, and
renaming it into place only if it matches, so an interrupted or corrupt fetch never leaves a file
that looks complete.

Where there is no network, the files come from a *mirror* directory (same relative paths as
``file`` in the manifest): the environment variable ``NUFOG_DATA_MIRROR`` or the config key
``data.mirror``. When a mirror is set it is tried first (offline runs and CI need no network
time-outs); the URL is the fallback. The checksum is the same either way.

A data release of many files is one *registry* entry (like a pooch registry): ``registry`` names a
text file (relative to the manifest) with one line per file, ``relative/path sha256 [url]``;
``file`` is the directory of the release in the cache and the mirror, ``url`` the base URL at the
pinned commit (a member's URL is ``url + relative/path`` unless the line gives its own), and
``sha256`` the checksum of the registry file itself, so the manifest pins every member. Fetching a
registry entry fetches every member (each verified; files already complete are kept) and then
writes the stamp file ``REGISTRY_STAMP`` in the directory: a build rule can use the stamp as the
output that stands for the whole release.
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
    "fetch_job",
    "REGISTRY_STAMP",
    "registry_members",
    "member_entries",
    "umask_mode",
]

MIRROR_ENV = "NUFOG_DATA_MIRROR"
#: written into a registry entry's directory once every member is fetched and verified
REGISTRY_STAMP = ".registry_complete"
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
    registry: str | None = None

    @property
    def is_registry(self) -> bool:
        """True for a release of many files (``file`` is then a directory)."""
        return self.registry is not None


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
        entry = dict(entry)
        if entry.get("registry") is not None:
            registry = (Path(path).resolve().parent / entry["registry"]).resolve()
            if not registry.is_file():
                raise InputError(f"{path}: input {name!r}: registry file {registry} does not exist")
            if not entry["url"].endswith("/"):
                raise InputError(f"{path}: input {name!r}: the base url of a registry must end with '/'")
            entry["registry"] = str(registry)
        out[name] = InputEntry(name=name, **entry)
    return out


def registry_members(entry: InputEntry) -> dict[str, tuple[str, str]]:
    """Members of a registry entry: relative path -> (sha256, url), the registry checked against the manifest."""
    if not entry.is_registry:
        raise InputError(f"input {entry.name!r} is a single file, not a registry")
    actual = sha256_of(entry.registry)
    if actual != entry.sha256:
        raise InputError(
            f"input {entry.name!r}: registry {entry.registry} has sha256 {actual}, the manifest pins {entry.sha256}"
        )
    out: dict[str, tuple[str, str]] = {}
    for k, line in enumerate(Path(entry.registry).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) not in (2, 3) or len(parts[1]) != 64 or parts[0].startswith("/") or ".." in parts[0].split("/"):
            raise InputError(f"{entry.registry}:{k}: expected 'relative/path sha256 [url]', got {line!r}")
        if parts[0] in out:
            raise InputError(f"{entry.registry}:{k}: {parts[0]} is listed twice")
        out[parts[0]] = (parts[1], parts[2] if len(parts) == 3 else entry.url + parts[0])
    if not out:
        raise InputError(f"input {entry.name!r}: registry {entry.registry} lists no files")
    return out


def member_entries(entry: InputEntry) -> list[InputEntry]:
    """One single-file entry per member of a registry (``file`` relative to the cache and the mirror)."""
    return [
        InputEntry(
            name=f"{entry.name}:{rel}",
            file=f"{entry.file.rstrip('/')}/{rel}",
            url=url,
            sha256=sha,
            reference=entry.reference,
            licence=entry.licence,
            upstream=entry.upstream,
        )
        for rel, (sha, url) in registry_members(entry).items()
    ]


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
    """Raise :class:`InputError` if ``path`` is missing or its sha256 differs from the manifest.

    For a registry entry ``path`` is the release directory and every member is checked.
    """
    path = Path(path)
    if entry.is_registry:
        for member in member_entries(entry):
            verify(path / member.file[len(entry.file.rstrip("/")) + 1 :], member)
        return
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

    For a registry entry ``dest`` is the release directory: every member is fetched into it (a member
    already there with the right sha256 is kept), then the stamp ``REGISTRY_STAMP`` is written.
    """
    dest = Path(dest)
    if entry.is_registry:
        return _fetch_registry(entry, dest, mirror, timeout_s, retries)
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


def _fetch_registry(entry: InputEntry, dest: Path, mirror: str | Path | None, timeout_s: float, retries: int) -> str:
    stamp = dest / REGISTRY_STAMP
    stamp.unlink(missing_ok=True)
    prefix = len(entry.file.rstrip("/")) + 1
    counts: dict[str, int] = {}
    for member in member_entries(entry):
        target = dest / member.file[prefix:]
        if target.is_file() and sha256_of(target) == member.sha256:
            kind = "cache"
        else:
            kind = fetch(member, target, mirror, timeout_s, retries).split(":", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{n} from {k}" for k, n in sorted(counts.items()))
    fd, tmp = tempfile.mkstemp(prefix=f".{REGISTRY_STAMP}.", suffix=".part", dir=dest)
    with os.fdopen(fd, "w") as fh:
        # what the release is, never where its files came from: the stamp's sha256 is the provenance of
        # every output that reads the release, so it must not depend on the cache's history
        fh.write(f"{entry.name} {entry.sha256} {sum(counts.values())} files\n")
    os.chmod(tmp, umask_mode())  # mkstemp creates 0600
    os.replace(tmp, stamp)
    log.info("fetched registry %s: %s", entry.name, summary)
    return f"registry:{summary}"


def checksums(paths: Mapping[str, str | Path]) -> dict[str, str]:
    """sha256 of each named file, for provenance."""
    return {name: sha256_of(p) for name, p in sorted(paths.items())}


def fetch_job(entry: InputEntry, output: str | Path, mirror, timeout_s: float, retries: int, log_path) -> None:
    """The download rules' body (run inside the Snakemake process: no interpreter start-up per input).

    A registry entry's ``output`` is the stamp file inside its release directory. The outcome is logged to
    ``log_path``.
    """
    output = Path(output)
    dest = output.parent if entry.is_registry else output
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as fh:
        try:
            source = fetch(entry, dest, mirror, timeout_s, retries)
        except InputError as exc:
            fh.write(f"{exc}\n")
            raise
        fh.write(f"{output} <- {source} ({entry.reference})\n")
