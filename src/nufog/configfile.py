"""Reading config files strictly: YAML syntax errors, duplicate keys, empty files and empty mappings are
errors that name the file and line (Snakemake's own messages name neither, and PyYAML keeps the last of
two duplicate keys). Validation against the schema is :mod:`nufog.config`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "read_config_file", "check_config_files"]


class ConfigError(ValueError):
    """Invalid configuration; the message names the key and the allowed values."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(
                f"config file {loader.name}, line {line}: duplicate key {key!r} (first given on line {seen[key]}); "
                "YAML keeps only the last one: remove one of them"
            )
        seen[key] = line
    mapping = loader.construct_mapping(node, deep=deep)
    if not mapping:
        loader.empty_mappings.append((node.start_mark.line + 1, _node_path(loader, node)))
    return mapping


def _node_path(loader: _StrictLoader, node: yaml.Node) -> tuple:
    return loader.paths.get(id(node), ())


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _annotate_paths(node: yaml.Node, path: tuple, paths: dict[int, tuple]) -> None:
    """Record the key path of every mapping node (for messages about empty mappings)."""
    paths[id(node)] = path
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _annotate_paths(v, (*path, getattr(k, "value", "?")), paths)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _annotate_paths(v, (*path, i), paths)


def _load_strict(path: Path) -> tuple[Any, list[tuple[int, tuple]]]:
    """YAML document of ``path`` and its empty mappings (line, key path); duplicate keys raise."""
    text = path.read_text(encoding="utf-8")
    loader = _StrictLoader(text)
    loader.name = str(path)
    loader.empty_mappings = []
    loader.paths = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        _annotate_paths(node, (), loader.paths)
        return loader.construct_document(node), loader.empty_mappings
    finally:
        loader.dispose()


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read one YAML (or JSON) config file strictly.

    Raises :class:`ConfigError` with the file and line for a syntax error, a duplicate key, an
    empty file, or a file whose top level is not a mapping (Snakemake's own messages name
    neither the file nor the line, and it keeps the last of two duplicate keys).
    """
    return _read_config_file(Path(path))[0]


def _read_config_file(path: Path) -> tuple[dict[str, Any], list[tuple[int, tuple]]]:
    try:
        data, empty = _load_strict(path)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != mark.line:
            what += f" ({exc.context} from line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        if "\\t" in what:
            what += " (YAML is indented with spaces, not tabs)"
        raise ConfigError(f"config file {path}, {where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: YAML error: {exc}") from None
    if data is None:
        raise ConfigError(f"config file {path} is empty: give at least one 'key: value' (or leave the file out)")
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path}: the top level must be a mapping of keys (e.g. 'limits:'), not a {type(data).__name__}"
        )
    return data, empty


def _lookup(config: Mapping[str, Any], path: tuple) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _merge(base: dict, update: Mapping) -> None:
    """Deep merge as Snakemake does for several config files: later files win key by key, and a
    mapping only adds keys (so an empty mapping changes nothing)."""
    for key, value in update.items():
        if isinstance(value, Mapping):
            sub = base.get(key)
            base[key] = sub if isinstance(sub, dict) else {}
            _merge(base[key], value)
        else:
            base[key] = value


def check_config_files(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Read config files strictly in merge order (earliest first) and return their merge.

    Besides the errors of :func:`read_config_file`, rejects an empty mapping (``key: {}``) that
    would silently keep an earlier file's values: Snakemake merges files key by key, so an empty
    mapping cannot clear anything. Raises :class:`ConfigError` listing every problem.
    """
    merged: dict[str, Any] = {}
    messages = []
    for path in paths:
        try:
            data, empty = _read_config_file(Path(path))
        except ConfigError as exc:
            messages.append(str(exc))
            continue
        for line, key_path in empty:
            earlier = _lookup(merged, key_path)
            if isinstance(earlier, Mapping) and earlier:
                key = ".".join(map(str, key_path))
                messages.append(
                    f"config file {path}, line {line}: '{key}' is an empty mapping, which Snakemake ignores "
                    f"when merging config files (the earlier value {dict(earlier)!r} would be used): "
                    "give its keys, or delete it"
                )
        _merge(merged, data)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return merged
