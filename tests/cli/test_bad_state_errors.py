"""Damaged state and hostile names get a clear error, not a Python repr or a later crash (issue 13, item 7):
a corrupt daemon token file, model names `.`, `..` or 5,000 characters, and a schema nested 200,000 deep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Az


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("ERROR: ")
    return proc.stderr


@pytest.mark.parametrize("content", [b"\xff\xfe garbage \x00", b"short"])
def test_a_corrupt_token_file_says_what_to_do_and_daemon_stop_recovers(az: Az, content: bytes) -> None:
    az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", check=True)
    token = az.home / "daemon" / "token"
    token.write_bytes(content)
    err = _error(az("account", "modelmanagement", "list"))
    assert "MlCliError(" not in err and f"the daemon token file {token} is corrupt" in err
    assert "python -m mlops_engine daemon stop" in err
    stop = subprocess.run([sys.executable, "-m", "mlops_engine", "daemon", "stop"], env=az.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert stop.returncode == 0 and stop.stdout.strip() == "Stopped."
    # the next command starts the daemon again, which writes a new token; the state is intact
    listed = json.loads(az("account", "modelmanagement", "list", check=True).stdout)
    assert [a["name"] for a in listed] == ["a"]
    assert len(token.read_text().strip()) == 64


def test_a_token_the_daemon_does_not_accept_is_not_a_repr(az: Az) -> None:
    az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", check=True)
    (az.home / "daemon" / "token").write_text("0" * 64)
    err = _error(az("account", "modelmanagement", "list"))
    assert "MlCliError(" not in err and "rejected the token in" in err


def test_invalid_model_names_are_refused_at_register(az: Az) -> None:
    az.ready()
    for name in (".", "..", "a" * 5000, "../escape", "with space"):
        err = _error(az("model", "register", "-m", "model.pkl", "-n", name))
        assert "Error occurred registering model." in err
        assert "is invalid. The name of a model must consist of letters, digits" in err
        if len(name) > 64:
            assert "(5000 characters)" in err and name not in err
    assert json.loads(az("model", "list", check=True).stdout) == []
    az("model", "register", "-m", "model.pkl", "-n", "model.pkl", check=True)  # dots inside are fine


def test_a_schema_nested_200000_deep_is_refused_at_build(az: Az) -> None:
    az.ready()
    (az.work / "deep_schema.json").write_text("[" * 200_000 + "]" * 200_000)
    model_id = az("model", "register", "-m", "model.pkl", "-n", "iris", check=True).stdout.split("Id: ")[1].split()[0]
    made = az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "python", "-i", model_id,
              "-s", "deep_schema.json", check=True)
    manifest_id = made.stdout.split("Id: ")[1].split()[0]
    err = _error(az("image", "create", "-n", "deep", "--manifest-id", manifest_id))
    assert "Image creation failed due to an error building the docker image." in err
    log_uri = json.loads(err.removeprefix("ERROR: "))["Error"]["Log Information"]
    last = Path(log_uri.removeprefix("file://")).read_text().splitlines()[-1]
    assert last.startswith("ERROR: the schema file deep_schema.json is nested too deeply")
    # 65 levels: parsed, then refused by the depth check
    (az.work / "deep_schema.json").write_text("[" * 65 + "]" * 65)
    made = az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "python", "-i", model_id,
              "-s", "deep_schema.json", check=True)
    err = _error(az("image", "create", "-n", "deep", "--manifest-id", made.stdout.split("Id: ")[1].split()[0]))
    log_uri = json.loads(err.removeprefix("ERROR: "))["Error"]["Log Information"]
    last = Path(log_uri.removeprefix("file://")).read_text().splitlines()[-1]
    assert last == ("ERROR: the schema file deep_schema.json is nested 65 levels deep; a service schema is nested at "
                    "most 64 levels deep (regenerate it with the schema generator)")


def test_read_token_says_what_the_file_holds(tmp_path: Path) -> None:
    from mlops_engine.tokenfile import TokenFileError, read_token

    path = tmp_path / "token"
    path.write_text("ab" * 32 + "\n")
    assert read_token(path) == "ab" * 32
    for content, reason in ((b"", "it is empty"), (b"short", "5 bytes instead of 64 hexadecimal characters"),
                            (b"Z" * 64, "characters other than the 64 hexadecimal ones")):
        path.write_bytes(content)
        with pytest.raises(TokenFileError, match=reason):
            read_token(path)
