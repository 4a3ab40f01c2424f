"""Client-side context: the current Model Management account and environment (legacy reference 2).

The legacy CLI kept them in ~/.azure; the local engine keeps the same two files under
$MLOPS_HOME/cli/, so nothing ever touches a real Azure configuration.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mlops_engine.cli.errors import CliError
from mlops_engine.paths import Paths

ACCOUNT_FILE = "viennaModelManagementAccountProfile.json"
ENV_FILE = "viennaOperationalizationComputeResource.json"

NO_ACCOUNT = "Model Management Account not set. Please run 'az ml account modelmanagement set'"
NO_ENV_MODE = "Error retrieving currently set environment. Please run 'az ml env set'"


def _write(paths: Paths, name: str, data: dict[str, Any]) -> None:
    paths.cli_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = paths.cli_dir / name
    tmp = target.with_suffix(".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(json.dumps(data, indent=2, sort_keys=True))
    os.chmod(tmp, 0o600)  # an older file kept its mode through O_TRUNC
    os.replace(tmp, target)


def _read(paths: Paths, name: str, what: str, hint: str) -> dict[str, Any] | None:
    target = paths.cli_dir / name
    try:
        return json.loads(target.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        target.unlink(missing_ok=True)
        raise CliError(f"Error retrieving currently set {what}: invalid JSON. Please run '{hint}'") from None


def save_account(paths: Paths, account: dict[str, Any]) -> None:
    _write(paths, ACCOUNT_FILE, account)


def load_account(paths: Paths) -> dict[str, Any] | None:
    return _read(paths, ACCOUNT_FILE, "Model Management Account", "az ml account modelmanagement set")


def require_account(paths: Paths) -> dict[str, Any]:
    account = load_account(paths)
    if not account:
        raise CliError(NO_ACCOUNT)
    return account


def mms_base(account: dict[str, Any]) -> str:
    """MMS base path of an account: /api/subscriptions/{sub}/resourceGroups/{rg}/accounts/{name}."""
    return f"/api/subscriptions/{account['subscription']}/resourceGroups/{account['resource_group']}/accounts/{account['name']}"


def save_env(paths: Paths, env: dict[str, Any]) -> None:
    _write(paths, ENV_FILE, env)


def load_env(paths: Paths) -> dict[str, Any] | None:
    return _read(paths, ENV_FILE, "environment", "az ml env set")


def clear_env(paths: Paths) -> None:
    (paths.cli_dir / ENV_FILE).unlink(missing_ok=True)


def current_mode(paths: Paths) -> str:
    env = load_env(paths)
    if not env:
        raise CliError(NO_ENV_MODE)
    return str(env.get("current_execution_mode", "local"))
