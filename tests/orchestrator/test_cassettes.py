"""Cassette format, matchers, replay rules and record mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
from orchestrator_testkit import CASSETTES

from orchestrator import cassettes, paths, yamlio
from orchestrator.errors import CommandFailed
from orchestrator.runner import CommandResult


def test_every_cassette_loads_and_matches_the_schema():
    schema = json.loads(paths.schema_file("cassette.schema.json").read_text())
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert len(files) >= 15
    for path in files:
        assert path.parent.parent == CASSETTES  # tests/cassettes/<mlops-command>/<scenario>.yaml
        jsonschema.validate(yamlio.load(path), schema)
        assert cassettes.load(path)


def _replay(*argvs, **kw):
    return cassettes.ReplayRunner([cassettes.Interaction(tuple(a), 0, "out", "") for a in argvs], **kw)


def test_plays_in_order_once():
    r = _replay(["az", "ml", "env", "show"], ["az", "ml", "env", "set"])
    assert r.run(["az", "ml", "env", "show"]).stdout == "out"
    with pytest.raises(cassettes.CassetteError, match="does not match"):
        r.run(["az", "ml", "env", "show"])


def test_unmatched_command_names_nearest_and_failed_matchers():
    r = _replay(
        ["az", "ml", "image", "create", "-n", "churnimage", "--manifest-id", "m1"],
        ["az", "ml", "image", "show", "-i", "x"],
    )
    with pytest.raises(cassettes.CassetteError) as info:
        r.run(["az", "ml", "image", "create", "-n", "other", "--manifest-id", "m1"])
    text = str(info.value)
    assert "failed matchers: args_json" in text
    assert "nearest recorded commands:\n    az ml image create -n churnimage --manifest-id m1" in text
    assert r.error is info.value


def test_exhausted_and_unplayed():
    r = _replay(["az", "ml", "env", "show"])
    r.run(["az", "ml", "env", "show"])
    with pytest.raises(cassettes.CassetteError, match="all 1 interactions played"):
        r.run(["az", "ml", "env", "set"])
    r2 = _replay(["az", "ml", "env", "show"])
    with pytest.raises(cassettes.CassetteError, match="1 interactions never played"):
        r2.assert_all_played()


def test_canonical_argv_and_volatile_paths():
    home = str(paths.home())
    r = _replay(
        ["az", "ml", "model", "register", "-m", "<MLOPS_HOME>/staging/x/model.pkl"],
        ["python", "-m", "churn_model.train", "--outputs", "/tmp/abc"],
        az_prefix=(sys.executable, "-m", "mlops_engine"),
        python=sys.executable,
    )
    r.run([sys.executable, "-m", "mlops_engine", "ml", "model", "register", "-m", f"{home}/staging/x/model.pkl"])
    r.run([sys.executable, "-m", "churn_model.train", "--outputs", "/tmp/other-temp-dir"])  # paths masked


def test_json_payloads_compare_semantically():
    r = _replay(["az", "ml", "service", "run", "realtime", "-i", "s", "-d", '{"a": 1, "b": [2]}'])
    r.run(["az", "ml", "service", "run", "realtime", "-i", "s", "-d", '{"b":[2],"a":1}'])


def test_strict_matchers_can_be_chosen():
    r = _replay(["python", "-m", "x", "/tmp/a"], matchers=("args",))
    with pytest.raises(cassettes.CassetteError, match="failed matchers: args"):
        r.run(["python", "-m", "x", "/tmp/b"])
    with pytest.raises(cassettes.CassetteError, match="unknown matchers"):
        _replay(["x"], matchers=("nope",))


def test_exit_codes_outside_ok_codes_raise_command_failed():
    r = cassettes.ReplayRunner([cassettes.Interaction(("az", "ml", "x"), 1, "", "ERROR: boom")])
    with pytest.raises(CommandFailed) as info:
        r.run(["az", "ml", "x"])
    assert info.value.result.stderr == "ERROR: boom"


class FakeInner:
    def __init__(self, results):
        self.results = list(results)

    def run(self, argv, *, timeout=0, ok_codes=(0,), cwd=None):
        result = self.results.pop(0)
        if result.exit_code not in ok_codes:
            raise CommandFailed(result)
        return result


def test_record_mode_scrubs_and_round_trips(tmp_path: Path):
    home = str(paths.home())
    keys = CommandResult(
        ("/usr/bin/az", "ml", "service", "keys", "realtime", "-i", "s"),
        0,
        "PrimaryKey: Pk123\nSecondaryKey: Sk456\n",
        "",
        0.4,
    )
    fail = CommandResult(
        ("/usr/bin/az", "ml", "env", "show", "-g", f"{home}/x"),
        1,
        "",
        'ERROR: {"Error": "x", "Response Content": "/subscriptions/a1b2c3d4-0000-4000-8000-00000000abcd"}',
        0.2,
    )
    rec = cassettes.RecordingRunner(
        FakeInner([keys, fail]), az_prefix=("/usr/bin/az",), python=sys.executable
    )
    rec.run(keys.argv)
    with pytest.raises(CommandFailed):
        rec.run(fail.argv)
    target = tmp_path / "rec.yaml"
    rec.save(target)
    text = target.read_text()
    assert "Pk123" not in text and "Sk456" not in text and "a1b2c3d4" not in text
    loaded = cassettes.load(target)
    assert loaded[0].argv == ("az", "ml", "service", "keys", "realtime", "-i", "s")
    assert loaded[0].stdout == "PrimaryKey: REDACTED\nSecondaryKey: REDACTED\n"
    assert loaded[1].argv[-1] == "<MLOPS_HOME>/x" and loaded[1].exit_code == 1
    replay = cassettes.ReplayRunner(loaded, az_prefix=("/usr/bin/az",))
    assert replay.run(keys.argv).stdout.startswith("PrimaryKey: REDACTED")


def test_malformed_cassette(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ninteractions:\n- {argv: [az], exit_code: nope}\n")
    with pytest.raises(cassettes.CassetteError, match=r"\$\.interactions\[0\]"):
        cassettes.load(bad)
    bad.write_text("version: 2\ninteractions: []\n")
    with pytest.raises(cassettes.CassetteError, match="not a version 1 cassette"):
        cassettes.load(bad)
