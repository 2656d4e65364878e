"""One scenario vocabulary (README, "Scenario vocabulary"): every old key still works wherever keys enter (scenario
file, --set, study tables, stored results), read as the new one with one deprecation line; old and new together
are a one-line error; the README table documents every key that more than one problem uses."""
import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from isacopt import registry
from isacopt.data import loader
from isacopt.data.schema import aliases

ROOT = Path(__file__).resolve().parents[1]
#: (problem, old key, new key) of every declared alias
ALIASES = [(name, old, new) for name, p in registry.PROBLEMS.items()
           for old, (new, _) in aliases(p.scenario_class).items()]
#: detection, small and fast
SMALL = ["--set", "tx_antennas=8", "--set", "rx_antennas=8"]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "deprecated" in line]


def load(problem, **kw):
    spec = registry.problem(problem)
    return loader.load_scenario(spec.scenario_class, spec.name, kw.pop("source", None), spec.default_scenario,
                                folder=spec.scenario_dir, **kw)[0]


def old_and_new_value(problem, old, new):
    """A value for the old key (not the default) and what it means in the new key."""
    if old == "max_power_w":
        return 12.0, 10 * math.log10(12.0) + 30
    value = getattr(load(problem), new)
    value = value + 1 if isinstance(value, int) else value - 1.0
    return value, value


def test_the_declared_aliases():
    assert {(o, n) for _, o, n in ALIASES} == {
        ("antennas", "tx_antennas"), ("users_per_cell", "users_per_bs"), ("max_power_w", "max_power_dbm"),
        ("user_path_loss_db", "user_path_gain_db"), ("target_path_loss_db", "target_path_gain_db")}


@pytest.mark.parametrize("problem, old, new", ALIASES)
def test_every_alias_maps_wherever_keys_enter(tmp_path, monkeypatch, caplog, problem, old, new):
    """Scenario file, --set, study values and a stored scenario: each the same scenario as the new key, with one
    note for the old key."""
    monkeypatch.setattr(loader, "_NOTED", set())
    cls = registry.problem(problem).scenario_class
    value, meant = old_and_new_value(problem, old, new)
    expected = load(problem, values={new: meant})
    path = tmp_path / "old.toml"
    path.write_text(f'problem = "{problem}"\n{old} = {value!r}\n')
    with caplog.at_level("WARNING", logger="isacopt.data.loader"):
        from_file = load(problem, source=path)
        from_set = load(problem, overrides=[f"{old}={value!r}"])
        from_study = load(problem, values={old: value})
        stored = {k: v for k, v in loader.scenario_dict(expected).items() if k != new} | {old: value}
        from_stored = loader.build(cls, stored, "stored scenario")
    assert from_file == loader.build(cls, {new: meant}, "new keys")
    assert from_set == from_study == from_stored == expected
    assert getattr(expected, new) == pytest.approx(meant, rel=1e-12)
    assert [r.getMessage() for r in caplog.records] == [
        f"deprecated scenario key '{old}': read as '{new}'" + (" (W converted to dBm)" if old == "max_power_w" else "")
        + "; use the new name"]


def test_detection_default_is_still_15_watts():
    sc = load("detection")
    assert sc.max_power_dbm == 10 * math.log10(15.0) + 30
    assert sc.max_power_w == pytest.approx(15.0, rel=1e-12)
    assert load("detection", values={"max_power_w": 15.0}) == sc


@pytest.mark.parametrize("problem, pair", [("bs-selection", ("antennas", "tx_antennas")),
                                           ("detection", ("max_power_w", "max_power_dbm"))])
def test_old_and_new_name_together_is_a_one_line_error(tmp_path, problem, pair):
    out = run("solve", problem, "--set", f"{pair[0]}=4", "--set", f"{pair[1]}=4")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert f"'{pair[0]}' and '{pair[1]}'" in out.stderr and "Traceback" not in out.stderr
    both = tmp_path / "both.toml"
    both.write_text(f'problem = "{problem}"\n{pair[0]} = 4\n{pair[1]} = 4\n')
    with pytest.raises(loader.ScenarioError, match=f"'{pair[0]}' and '{pair[1]}' are two names of one field"):
        load(problem, source=both)


def test_cli_old_keys_give_the_same_result_and_one_note_each(tmp_path):
    """A scenario file and --set with old keys: one note per key, the same scenario and objective as the new keys;
    the stored result with old keys (as an older version wrote it) still verifies and loads."""
    new = run("solve", "detection", *SMALL, "--set", "max_power_dbm=40", "--out", tmp_path / "new.json")
    assert new.returncode == 0 and not notes(new.stderr), new.stderr
    text = (ROOT / "data/scenarios/detection_k1.toml").read_text()
    text = re.sub(r"^max_power_dbm = .*$", "max_power_w = 15.0", text, flags=re.M)
    (tmp_path / "old.toml").write_text(text.replace("user_path_gain_db", "user_path_loss_db"))
    old = run("solve", "detection", "--scenario", tmp_path / "old.toml", *SMALL, "--set", "max_power_w=10",
              "--set", "user_path_loss_db=-30", "--out", tmp_path / "old.json")
    assert old.returncode == 0, old.stderr
    assert sorted(notes(old.stderr)) == [
        "WARNING deprecated scenario key 'max_power_w': read as 'max_power_dbm' (W converted to dBm); use the new name",
        "WARNING deprecated scenario key 'user_path_loss_db': read as 'user_path_gain_db'; use the new name"]
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("new", "old"))
    assert a["scenario"] == b["scenario"] | {"max_power_dbm": 40.0}
    assert b["scenario"]["max_power_dbm"] == pytest.approx(40.0, rel=1e-12)
    assert b["objective"] == pytest.approx(a["objective"], rel=1e-6)
    # a result file with the old keys, as written before the rename
    sc = b["scenario"]
    sc["max_power_w"] = 10 ** ((sc.pop("max_power_dbm") - 30) / 10)
    sc["user_path_loss_db"] = sc.pop("user_path_gain_db")
    (tmp_path / "older.json").write_text(json.dumps(b))
    out = run("verify", tmp_path / "older.json")
    assert out.returncode == 0 and "holds" in out.stdout and len(notes(out.stderr)) == 2, out.stderr
    import isacopt
    loaded = isacopt.load_result(tmp_path / "older.json")
    assert "max_power_w" not in loaded.scenario and loaded.scenario["max_power_dbm"] == pytest.approx(40.0, rel=1e-12)


def test_study_with_old_keys_runs_with_one_note_per_key(tmp_path):
    """[fixed] and [sweep] with old keys, two worker processes: one note per key (from the validation in the main
    process, none from the workers); the study keeps its names (its columns, its checkpoints) and its jobs equal
    those of the new keys."""
    study = """problem = "detection"
scenario = "detection_k1"
methods = ["sdr"]
draws = 1
metrics = ["p_detect_min"]
[fixed]
tx_antennas = 8
rx_antennas = 8
{fixed}
[sweep]
{swept} = [-30.0, -32.0]
"""
    (tmp_path / "old.toml").write_text(study.format(fixed="max_power_w = 10.0", swept="user_path_loss_db"))
    (tmp_path / "new.toml").write_text(study.format(fixed="max_power_dbm = 40.0", swept="user_path_gain_db"))
    out = run("study", tmp_path / "old.toml", "--workers", "2", "--out", tmp_path / "old")
    assert out.returncode == 0, out.stderr
    assert len(notes(out.stderr)) == 2 and len(set(notes(out.stderr))) == 2, out.stderr
    assert run("study", tmp_path / "new.toml", "--workers", "1", "--out", tmp_path / "new").returncode == 0
    import pandas as pd
    old, new = (pd.read_csv(tmp_path / n / "jobs.csv") for n in ("old", "new"))
    assert list(old["user_path_loss_db"]) == list(new["user_path_gain_db"]) == [-30.0, -32.0]
    assert old["objective"].to_numpy() == pytest.approx(new["objective"].to_numpy(), rel=1e-6)
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "old" / "jobs").glob("*.json")}
    resumed = run("study", tmp_path / "old.toml", "--out", tmp_path / "old", "--resume")      # nothing to recompute
    assert resumed.returncode == 0, resumed.stderr
    assert written == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "old" / "jobs").glob("*.json")}


def test_old_method_name_enumeration(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(loader, "_NOTED", set())
    with caplog.at_level("WARNING"):
        assert registry.problem("cluster-size").method("exhaustive")[0] == "enumeration"
        assert registry.problem("cluster-size").method("exhaustive")[0] == "enumeration"
    assert [r.getMessage() for r in caplog.records] == [
        "deprecated method 'exhaustive': read as 'enumeration'; use the new name"]
    out = run("solve", "cluster-size", "--method", "exhaustive", "--set", "tx_antennas=12")
    assert out.returncode == 0 and "cluster-size / enumeration" in out.stdout, out.stderr
    assert notes(out.stderr) == ["WARNING deprecated method 'exhaustive': read as 'enumeration'; use the new name"]
    with pytest.raises(registry.UnknownNameError, match="unknown method 'exhaustiv'"):
        registry.problem("cluster-size").method("exhaustiv")
    study = (ROOT / "data/studies/cluster_size_fig3.toml").read_text().replace('"enumeration"', '"exhaustive"')
    (tmp_path / "old.toml").write_text(study)
    from isacopt.studies.spec import load_study
    assert "exhaustive" in load_study(tmp_path / "old.toml").methods        # the study keeps its names


def readme_vocabulary() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Scenario vocabulary", 1)[1].split("\n#", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in section.splitlines()
            if line.startswith("| `")]


def test_the_readme_vocabulary_documents_every_shared_key_and_alias():
    """Every scenario key of more than one problem, and every key with an old name, is a row of the README table;
    every documented key exists; the old names listed are exactly the declared ones."""
    rows = readme_vocabulary()
    keys = {k.removeprefix("--method ") for row in rows for k in re.findall(r"`([^`]+)`", row[0])}
    olds = {k for row in rows for k in re.findall(r"`([^`]+)`", row[-1])}
    fields: dict[str, set] = {}
    for name, p in registry.PROBLEMS.items():
        for f in dataclasses.fields(p.scenario_class):
            fields.setdefault(f.name, set()).add(name)
    shared = {k for k, where in fields.items() if len(where) > 1} | {new for _, _, new in ALIASES}
    assert not shared - keys, f"document these keys in the README's Scenario vocabulary: {shared - keys}"
    methods = {m for p in registry.PROBLEMS.values() for m in p.methods}
    assert not keys - set(fields) - methods, f"the README documents unknown keys: {keys - set(fields) - methods}"
    assert olds == {o for _, o, _ in ALIASES} | set(registry.METHOD_ALIASES)
