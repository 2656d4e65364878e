"""Load scenario files (TOML, units in field names), apply ``--set key=value`` overrides, validate.

A scenario file holds the fields of one problem's scenario dataclass at top level, plus two reserved keys:
``problem`` (which problem it belongs to) and ``description``. Files are looked up by name in
``data/scenarios/`` or given as a path. Wherever keys enter (files, ``--set``, study tables, stored results) an old
name of a field (``schema.spec(aliases=...)``) is read as the field, with one deprecation line (:func:`canonical`).
"""
from __future__ import annotations

import dataclasses
import logging
import difflib
import multiprocessing
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ScenarioError, UnknownNameError
from .schema import aliases

DATA_DIR = Path(__file__).resolve().parent
SCENARIO_DIR = DATA_DIR / "scenarios"
STUDY_DIR = DATA_DIR / "studies"
RESERVED_KEYS = ("problem", "description")

log = logging.getLogger("isacopt.data.loader")


def available(folder: Path, suffix: str = ".toml") -> list[str]:
    """Names (file stems) of the definitions shipped in ``folder``."""
    return sorted(p.stem for p in folder.glob(f"*{suffix}"))


def resolve_path(name_or_path: str | Path, folder: Path, kind: str) -> Path:
    """A shipped definition's name or a file path -> existing path; a clear error otherwise."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix and candidate.exists():
        return candidate
    shipped = folder / f"{text}.toml"
    if shipped.exists():
        return shipped
    names = available(folder)
    hint = difflib.get_close_matches(text, names, n=1)
    if candidate.suffix:
        raise ScenarioError(f"{kind} file '{text}' does not exist")
    raise UnknownNameError(f"unknown {kind} '{text}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                           + f" (shipped: {', '.join(names) or 'none'}; or pass a path to a .toml file)")


def read_toml(path: Path, kind: str) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a one-line :class:`ScenarioError` naming the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{kind} file '{path}' is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"cannot read {kind} file '{path}': {exc.strerror}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value is read as TOML (numbers, booleans, lists), else as a bare string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set '{text}' is not of the form KEY=VALUE (e.g. --set sinr_db=20)")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def check_keys(cls, keys, origin: str) -> None:
    """Every key must be a field of ``cls`` or an old name of one; an unknown key names its closest match."""
    names, old = [f.name for f in dataclasses.fields(cls)], aliases(cls)
    for key in keys:
        if key not in names and key not in old:
            hint = difflib.get_close_matches(key, names + list(old), n=1)
            hint = [old[h][0] if h in old else h for h in hint]
            raise ScenarioError(f"{origin}: unknown field '{key}' for {cls.__name__}"
                                + (f"; did you mean '{hint[0]}'?" if hint else "")
                                + f" (fields: {', '.join(names)})")


_NOTED: set[str] = set()


def note_deprecated(what: str, old: str, new: str, how: str = "") -> None:
    """One line (a logging warning, as the CLI's other notes) per old name and process: ``old`` still works. Not in
    a study's worker processes: the main process noted every old name when it validated the study."""
    if old in _NOTED or multiprocessing.parent_process() is not None:
        return
    _NOTED.add(old)
    log.warning("deprecated %s '%s': read as '%s'%s; use the new name", what, old, new, how)


def canonical(cls, values: dict[str, Any], origin: str) -> dict[str, Any]:
    """``values`` with every old key (``spec(aliases=...)``) renamed to its field, its value converted where the unit
    differs, and a deprecation note; an old and a new name of one field together are an error."""
    out = dict(values)
    for old, (new, alias) in aliases(cls).items():
        if old not in out:
            continue
        if new in out:
            raise ScenarioError(f"{origin}: '{old}' and '{new}' are two names of one field (the old and the new); "
                                f"give only '{new}'")
        value = out.pop(old)
        if alias.convert is not None:
            try:
                out[new] = alias.convert(value)
            except ValueError as exc:
                raise ScenarioError(f"{origin}: field '{old}' = {value!r} {exc}") from None
        else:
            out[new] = value
        unit = next(f.metadata.get("unit", "") for f in dataclasses.fields(cls) if f.name == new)
        note_deprecated("scenario key", old, new, f" ({alias.unit} converted to {unit})" if alias.convert else "")
    return out


def build(cls, values: dict[str, Any], origin: str):
    """Instantiate the scenario dataclass ``cls`` from ``values`` after checking the keys (old names mapped)."""
    check_keys(cls, values, origin)
    values = canonical(cls, values, origin)
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise ScenarioError(f"{origin}: {exc}") from None


def load_scenario(cls, problem: str, source: str | Path | None, default: str,
                  overrides: list[str] | tuple[str, ...] = (), values: dict[str, Any] | None = None,
                  folder: Path = SCENARIO_DIR):
    """Resolve, read, override and validate a scenario for ``problem``; returns (scenario, name).

    ``overrides`` are CLI ``key=value`` strings; ``values`` already-typed overrides (parameter studies), applied last.
    """
    path = resolve_path(source if source is not None else default, folder, "scenario")
    raw = read_toml(path, "scenario")
    owner = raw.pop("problem", problem)
    if owner != problem:
        raise ScenarioError(f"scenario file '{path}' is for problem '{owner}', not '{problem}'")
    raw.pop("description", None)
    check_keys(cls, raw, f"scenario file '{path}'")
    raw = canonical(cls, raw, f"scenario file '{path}'")
    return build(cls, with_overrides(cls, raw, overrides, values), f"scenario '{path.stem}'"), path.stem


def with_overrides(cls, raw: dict[str, Any], overrides=(), values: dict[str, Any] | None = None) -> dict[str, Any]:
    """``raw`` updated by CLI ``key=value`` strings, then by typed ``values`` (studies); every key checked. A
    file's value of a field ``sized_by`` others (schema.spec) is dropped when an override changes one of those and
    does not set the field itself (e.g. ``--set users_per_bs=2`` on a scenario that lists 3 CU positions: the
    positions are drawn at random instead)."""
    file_keys, raw, changed = set(raw), dict(raw), {}
    for text in overrides:
        key, value = parse_override(text)
        check_keys(cls, [key], f"--set {text}")
        changed[key] = value
    changed = canonical(cls, changed, "--set")
    from_cli = set(changed)
    if values:
        check_keys(cls, values, "study parameter")
        changed.update(canonical(cls, values, "study parameter"))
    for f in dataclasses.fields(cls):
        sizes = f.metadata.get("sized_by", ())
        if f.name in file_keys and f.name not in changed and any(
                k in changed and changed[k] != raw.get(k, _default(cls, k)) for k in sizes):
            why = [k for k in sizes if k in changed]
            (log.warning if from_cli & set(why) else log.info)(
                "scenario field '%s' from the file dropped (drawn afresh): --set %s changed its size", f.name,
                ", ".join(why))
            del raw[f.name]
    raw.update(changed)
    return raw


def _default(cls, name: str):
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    return field.default


def scenario_dict(scenario) -> dict[str, Any]:
    """A scenario as a plain JSON-ready dict (tuples become lists)."""
    def plain(v):
        return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v
    return {k: plain(v) for k, v in dataclasses.asdict(scenario).items()}
