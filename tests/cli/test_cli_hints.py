"""Next steps after an error (mlops_engine/cli/hints.py).

On a terminal the legacy error block is followed by `hint:` lines; in a pipe the output is the legacy bytes
alone (transcript 86 is pinned by tests/conformance). Each test then follows the hint literally, as a newcomer
would, and checks that it works: no model registered twice, the service answers.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tests.cli.conftest import FIXTURES, Az
from tests.conformance.harness import TRANSCRIPTS, load

LOCAL_UPDATE = load(TRANSCRIPTS / "86_local_update_notsupported.txt")


def _on_terminal(az: Az, *argv: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `az ml ARGV` with stderr on a pseudo-terminal (stdout piped): exit code, stdout, stderr."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "mlops_engine", "ml", *argv], cwd=cwd or az.work,
                                env=az.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    stdout, _ = proc.communicate(timeout=180)
    reader.join(timeout=30)
    os.close(master)
    stderr = b"".join(chunks).decode().replace("\r\n", "\n")
    return proc.returncode, stdout.decode(), stderr


def _hint(stderr: str, block: str) -> list[str]:
    """The hint lines after the legacy block (which must come first, unchanged)."""
    assert stderr.startswith(block), stderr
    rest = stderr[len(block):].splitlines()
    assert rest and all(line.startswith("hint: ") for line in rest), stderr
    return [line[len("hint: "):] for line in rest]


def _commands(hint: list[str]) -> list[list[str]]:
    """The commands a hint suggests (each on its own line: `  az ml ...`), as argv after `az ml`."""
    return [shlex.split(line)[2:] for line in hint if line.startswith("  az ml ")]


def _grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{pattern!r} not in:\n{text}"
    return found.group(1)


def _image(az: Az, name: str, model_id: str) -> str:
    manifest = _grab(r"^Id: (\S+)$", az("manifest", "create", "-n", name, "-f", "score.py", "-r", "python", "-i",
                                        model_id, "-s", "service_schema.json", check=True).stdout)
    return _grab(r"^Image ID: (\S+)$", az("image", "create", "-n", name, "--manifest-id", manifest, check=True).stdout)


def _models(az: Az) -> list[str]:
    return [m["Id"] for m in json.loads(az("model", "list", check=True).stdout)]


def test_local_update_says_what_to_do_instead(az: Az) -> None:
    az.ready(cluster=False)  # a local environment: local mode
    model = _grab(r"^Id: (\S+)$", az("model", "register", "-m", "model.pkl", "-n", "iris", check=True).stdout)
    first, second = _image(az, "irisone", model), _image(az, "iristwo", model)
    az("service", "create", "realtime", "-n", "irisloc", "--image-id", first, check=True)

    piped = az("service", "update", "realtime", "-i", "irisloc", "--image-id", second)
    assert (piped.returncode, piped.stdout, piped.stderr) == (1, "", LOCAL_UPDATE.stderr)  # the legacy bytes alone

    code, stdout, stderr = _on_terminal(az, "service", "update", "realtime", "-i", "irisloc", "--image-id", second)
    hint = _hint(stderr, LOCAL_UPDATE.stderr)
    assert (code, stdout) == (1, "")
    steps = _commands(hint)
    assert steps[:2] == [["service", "delete", "realtime", "-i", "irisloc"],
                         ["service", "create", "realtime", "-n", "irisloc", "--image-id", "<IMAGE_ID>"]], hint
    for argv in steps[:2]:  # followed literally, with the new image
        az(*[second if word == "<IMAGE_ID>" else word for word in argv], check=True)
    (row,) = json.loads(az("service", "list", "realtime", check=True).stdout)
    assert (row["Name"], row["Image"], row["State"]) == ("irisloc", "local/iristwo:1", "running")

    # a cluster service id while in local mode: the hint is to switch mode, not to delete anything
    code, _, stderr = _on_terminal(az, "service", "update", "realtime", "-i", "irisapp.env1-0a1b2c3d.eastus2", "-z", "2")
    hint = _hint(stderr, LOCAL_UPDATE.stderr)
    assert code == 1 and _commands(hint) == [["env", "cluster"]], hint


def test_one_step_create_rejected_reports_what_it_left_and_how_to_reuse_it(az: Az) -> None:
    az.ready(cluster=False)
    one_step = ("service", "create", "realtime", "-f", "score.py", "--model-file", "model.pkl", "-s",
                "service_schema.json", "-r", "python", "-n", "s1")  # "s1" is too short: refused after the build
    piped = az(*one_step)
    assert piped.returncode == 1 and "Service Name: s1 is invalid" in piped.stderr and "hint" not in piped.stderr
    assert piped.stderr.startswith("ERROR: {") and piped.stderr.count("\n") == 1  # the legacy repr line alone

    code, stdout, stderr = _on_terminal(az, *one_step)
    model = _grab(r"^Id: ([0-9a-f]{32})$", stdout)
    manifest = _grab(r"^Id: ([0-9a-f-]{36})$", stdout)
    image = _grab(r"^Image ID: (\S+)$", stdout)
    hint = _hint(stderr, stderr.split("\n", 1)[0] + "\n")
    assert code == 1
    assert [line.split() for line in hint[1:4]] == [["model", model, "model.pkl"], ["manifest", manifest, "s1"],
                                                    ["image", image, "s1"]], hint
    (reuse,) = _commands(hint)
    assert reuse == ["service", "create", "realtime", "-n", "s1", "--image-id", image], hint
    models_before = _models(az)
    az(*[word if word != "s1" else "irisreuse" for word in reuse], check=True)  # another name: "s1" was the problem
    assert _models(az) == models_before  # nothing registered again
    answer = az("service", "run", "realtime", "-i", "irisreuse", "-d",
                json.dumps({"input_df": [{"sepal length": 5.1, "sepal width": 3.5, "petal length": 1.4,
                                          "petal width": 0.2}]}), check=True)
    assert json.loads(answer.stdout) == [0]


def test_one_step_create_crashing_init_reports_the_failed_service_and_the_rebuild(az: Az, tmp_path: Path) -> None:
    az.ready(cluster=False)
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copy(FIXTURES / "broken" / "score.py", folder / "score.py")
    for name in ("model.pkl", "service_schema.json"):
        shutil.copy(az.work / name, folder / name)
    code, stdout, stderr = _on_terminal(az, "service", "create", "realtime", "-f", "score.py", "--model-file",
                                        "model.pkl", "-s", "service_schema.json", "-r", "python", "-n", "irisfix",
                                        cwd=folder)
    assert code == 1 and "init() failed: RuntimeError: model file is corrupt" in stdout
    model = _grab(r"^Id: ([0-9a-f]{32})$", stdout)
    image = _grab(r"^Image ID: (\S+)$", stdout)
    block_end = stderr.index("\nhint: ") + 1
    hint = _hint(stderr, stderr[:block_end])
    assert ["service", "irisfix", "irisfix", "(Failed)"] in [line.split() for line in hint], hint
    delete, manifest_create, image_create, service_create, retry = _commands(hint)
    assert delete == ["service", "delete", "realtime", "-i", "irisfix"]
    assert manifest_create == ["manifest", "create", "-n", "irisfix", "-f", "score.py", "-r", "python", "-i", model,
                               "-s", "service_schema.json"]
    assert retry == ["service", "create", "realtime", "-n", "irisfix", "--image-id", image]

    # followed literally after fixing score.py: the registered model is reused, the service answers
    az(*delete, check=True)
    shutil.copy(az.work / "score.py", folder / "score.py")
    new_manifest = _grab(r"^Id: (\S+)$", az(*manifest_create, cwd=folder, check=True).stdout)
    new_image = _grab(r"^Image ID: (\S+)$", az(*[new_manifest if w == "<MANIFEST_ID>" else w for w in image_create],
                                               check=True).stdout)
    az(*[new_image if w == "<IMAGE_ID>" else w for w in service_create], check=True)
    assert _models(az) == [model]
    answer = az("service", "run", "realtime", "-i", "irisfix", "-d",
                json.dumps({"input_df": [{"sepal length": 6.9, "sepal width": 3.1, "petal length": 5.4,
                                          "petal width": 2.1}]}), check=True)
    assert json.loads(answer.stdout) == [2]
