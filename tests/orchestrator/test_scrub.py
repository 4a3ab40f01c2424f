"""Secrets never reach logs, the journal or cassettes."""

from __future__ import annotations

from orchestrator_testkit import az_sample

from orchestrator.scrub import scrub_argv, scrub_recording, scrub_secrets


def test_service_keys_lines():
    text = scrub_secrets(az_sample("service-keys", "ok"))
    assert text == "PrimaryKey: REDACTED\nSecondaryKey: REDACTED\n"


def test_json_and_repr_keys_tokens_passwords():
    text = scrub_secrets(az_sample("service-run", "verbose"))
    assert "Pk0e5659860d09404393130b65617864" not in text and '"primaryKey": "REDACTED"' in text
    assert (
        scrub_secrets('{"password": "acrpassword1", "password2": "x"}')
        == '{"password": "REDACTED", "password2": "REDACTED"}'
    )
    assert scrub_secrets("{'primaryKey': 'abc'}") == "{'primaryKey': 'REDACTED'}"
    assert scrub_secrets("Authorization: Bearer eyJ0eXAi.abc-def") == "Authorization: Bearer REDACTED"
    assert "sig=REDACTED&" in scrub_secrets("https://x.blob.core.windows.net/a?sr=b&sp=r&sig=FAKESIG&sv=2017")


def test_recording_also_hides_identity():
    text = scrub_recording(
        '"subscription": "a1b2c3d4-0000-4000-8000-00000000abcd", /subscriptions/a1b2c3d4-0000-4000-8000-00000000abcd/x me@corp.com'
    )
    assert "a1b2c3d4" not in text and "user@example.com" in text


def test_argv_flags():
    assert scrub_argv(["az", "ml", "env", "setup", "-p", "pw", "-a", "app"]) == (
        "az",
        "ml",
        "env",
        "setup",
        "-p",
        "REDACTED",
        "-a",
        "app",
    )
    # -p means a pip requirements file for manifest create: kept
    assert scrub_argv(["az", "ml", "manifest", "create", "-p", "requirements.txt"])[-1] == "requirements.txt"
