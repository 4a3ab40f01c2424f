"""Dependency check of an image against the serving interpreter (run IN that interpreter)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Final

import yaml

# Provided by the engine's own runtime (the legacy CLI always appends it to the pip requirements).
RUNTIME_PROVIDED: Final = frozenset({"azure-ml-api-sdk"})
_CONDA_SKIP: Final = frozenset({"python", "pip"})

# Executed by the serving interpreter: reads requirement strings on stdin, prints one JSON report.
CHECK_SCRIPT: Final = r"""
import json, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement, InvalidRequirement
except ImportError:
    print(json.dumps({"fatal": "the 'packaging' distribution is not installed"}))
    sys.exit(0)
results = []
for line in json.load(sys.stdin):
    entry = {"requirement": line, "ok": False, "installed": None, "reason": ""}
    try:
        req = Requirement(line)
    except InvalidRequirement as exc:
        entry["reason"] = "invalid requirement: %s" % exc
        results.append(entry)
        continue
    if req.marker is not None and not req.marker.evaluate():
        entry.update(ok=True, reason="environment marker does not apply")
        results.append(entry)
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        entry["reason"] = "not installed"
        results.append(entry)
        continue
    entry["installed"] = version
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        entry["reason"] = "installed %s %s does not satisfy it" % (req.name, version)
    else:
        entry["ok"] = True
    results.append(entry)
print(json.dumps({"python": sys.executable, "version": sys.version.split()[0], "results": results}))
"""


@dataclass(frozen=True)
class CheckResult:
    requirement: str
    ok: bool
    installed: str | None
    reason: str


def pip_lines(text: str) -> tuple[list[str], list[str]]:
    """(requirements, ignored lines) of a requirements.txt; options such as -r/-e/--index-url are ignored."""
    reqs, ignored = [], []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            ignored.append(line)
        else:
            reqs.append(line)
    return reqs, ignored


def _conda_spec(spec: str) -> str | None:
    spec = spec.strip().split("::")[-1]
    name, _, rest = spec.partition(" ")
    if not rest:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", spec)
        if not match:
            return spec
        name, rest = match.group(1), match.group(2)
    if name.lower() in _CONDA_SKIP:
        return None
    rest = rest.strip()
    if not rest:
        return name
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0]  # name=1.2=build -> 1.2
        return f"{name}=={version}" if version.endswith("*") else f"{name}=={version}.*"
    if re.match(r"^[0-9]", rest):
        return f"{name}=={rest.split()[0]}.*" if "*" not in rest else f"{name}=={rest.split()[0]}"
    return f"{name}{rest}"


def conda_lines(text: str) -> list[str]:
    """Requirement strings from a conda env file: conda dependencies and the pip sub-list, minus python/pip."""
    data: object = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise TypeError("the conda file is not a YAML mapping")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise TypeError("'dependencies' in the conda file is not a list")
    reqs: list[str] = []
    for dep in deps:
        if isinstance(dep, str):
            spec = _conda_spec(dep)
            if spec:
                reqs.append(spec)
        elif isinstance(dep, dict):
            pip = dep.get("pip") or []
            reqs.extend(pip_lines("\n".join(str(x) for x in (pip if isinstance(pip, list) else [])))[0])
    return reqs


def check(python: str, requirements: list[str], timeout: float = 120.0) -> tuple[str, list[CheckResult]]:
    """Run the check in `python`; returns (interpreter version, results). RuntimeError if it cannot run."""
    try:
        proc = subprocess.run(
            [python, "-c", CHECK_SCRIPT],
            input=json.dumps(requirements),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RuntimeError(f"the serving interpreter {python} does not exist") from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the dependency check in {python} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"the dependency check in {python} exited with {proc.returncode}: {proc.stderr.strip()[-500:]}"
        )
    report = json.loads(proc.stdout)
    if "fatal" in report:
        raise RuntimeError(f"cannot check dependencies in {python}: {report['fatal']}")
    return report["version"], [CheckResult(**r) for r in report["results"]]
