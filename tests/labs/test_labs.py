"""Run every lab in ``labs/`` exactly as printed; compare its output with the text shown after each command.

For each lab file (one test per file):

* the ```` ```bash ```` blocks are extracted in order; a ```` ```text ```` block that follows a bash
  block with nothing but blank lines in between is that block's expected output;
* all bash blocks run IN ORDER in ONE ``bash`` process (``set -euo pipefail``), so ``cd`` and shell
  variables carry over from block to block, the way a student types them into one terminal;
* the run gets a fresh ``HOME`` and ``MLOPS_HOME`` (``$HOME/.mlops``) under ``tmp_path`` and a fresh
  copy of the repository's ``churn_model/`` folder (without generated files) in a scratch "repository
  root" whose ``.venv`` points at the environment running this test, with that environment's ``bin``
  first on ``PATH``;
* marker lines echoed between blocks split the combined stdout/stderr into one chunk per block;
* for each block with an expected output, every non-empty expected line must match the block's output
  after both sides are normalised (ids, uuids, timestamps, ports, service-id suffixes, keys, run ids,
  durations, paths, progress dots, runs of blanks). Matching lines must be consecutive, except that a
  line ``...`` stands for any number of lines; unless the expected text starts (ends) with ``...``, it
  must match from the first (to the last) non-empty line of the output;
* at the end the engine daemon of that ``MLOPS_HOME`` is stopped and no process started with it may be
  left.

Run: ``.venv/bin/python -m pytest tests/labs -q`` (about 10-30 s per lab).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABS = REPO / "labs"
LAB_FILES = sorted(LABS.glob("[0-9]*.md"))  # the student labs; instructor.md is reference, not executed
LAB_TIMEOUT = 300  # seconds for a whole lab; each takes well under a minute on a 2-core machine

MARK = "@@mlops-lab-block"
FENCE = re.compile(r"^```(\w*)[ \t]*$")


@dataclass
class Block:
    index: int  # 1-based among the bash blocks of the lab
    line: int  # line number of the opening fence in the markdown file
    code: str
    expected: str | None  # the ```text block right after it, if any


def parse_lab(path: Path) -> list[Block]:
    """Split a markdown lab into bash blocks, each with the text block that directly follows it (if any)."""
    fences: list[tuple[str, int, str, int]] = []  # (lang, open line, body, close line), 1-based lines
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j >= len(lines):
            raise AssertionError(f"{path.name}:{start + 1}: unclosed code fence")
        fences.append((m.group(1), start + 1, "\n".join(lines[start + 1 : j]), j + 1))
        i = j + 1
    blocks: list[Block] = []
    for k, (lang, open_line, body, close_line) in enumerate(fences):
        if lang != "bash":
            continue
        expected = None
        if k + 1 < len(fences) and fences[k + 1][0] == "text":
            between = lines[close_line : fences[k + 1][1] - 1]
            if all(not s.strip() for s in between):
                expected = fences[k + 1][2]
        blocks.append(Block(len(blocks) + 1, open_line, body, expected))
    return blocks


# --- normalisation ---------------------------------------------------------------------------------

_RULES: list[tuple[re.Pattern[str], str]] = [
    # ISO-8601 timestamps (JSON and tables) and log-line timestamps
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?"), "<TIME>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"), "<UUID>"),
    (re.compile(r"\b[0-9a-f]{32,64}\b"), "<HEX>"),
    (re.compile(r"\b(PrimaryKey|SecondaryKey):\s*\S+"), r"\1: <KEY>"),
    (re.compile(r"Bearer [0-9A-Za-z_\-]{16,}"), "Bearer <KEY>"),
    (re.compile(r"\b127\.0\.0\.1:\d+"), "127.0.0.1:<PORT>"),
    # cluster service ids: name.env-1a2b3c4d.location
    (re.compile(r"(?<=[a-z0-9])-[0-9a-f]{8}(?=\.[a-z0-9]+\b)"), "-<SFX>"),
    (re.compile(r"\b[A-Za-z][\w\-]*_\d{10,}\b"), "<RUNID>"),
    (re.compile(r"\bPython \d+\.\d+\.\d+\b"), "Python <VERSION>"),
    # durations: "2.2 s", "0.093 ms", "1.5s", "real 0m2.3s"
    (re.compile(r"\b\d+m\d+(?:\.\d+)?s\b"), "<DUR>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b"), "<DUR>"),
    # absolute paths (temp files, the engine home, the venv); not URLs
    (re.compile(r"(?<![\w:/.~])(?:~|/)[\w.\-+]*(?:/[\w.\-+]+)+/?"), "<PATH>"),
    # progress dots: "Creating image.....Done", "initialize......"
    (re.compile(r"\.+(?=Done)"), "."),
    (re.compile(r"\.{2,}$"), "."),
    (re.compile(r"\s+"), " "),
]


def normalise(line: str) -> str:
    for pattern, repl in _RULES:
        line = pattern.sub(repl, line)
    return line.strip()


def check_output(expected: str, actual: str) -> str | None:
    """None if ``actual`` matches ``expected`` (see module docstring), else a one-line reason."""
    exp = [s for s in expected.splitlines() if s.strip()]
    act = [normalise(s) for s in actual.splitlines() if s.strip()]
    segments: list[list[str]] = [[]]
    for s in exp:
        if s.strip() == "...":
            segments.append([])
        else:
            segments[-1].append(normalise(s))
    open_start = not segments[0]
    open_end = not segments[-1]
    segments = [seg for seg in segments if seg]
    pos = 0
    for n, seg in enumerate(segments):
        anchored = n == 0 and not open_start
        last = len(act) - len(seg) if not anchored else 0
        found = -1
        for p in range(pos, last + 1):
            if act[p : p + len(seg)] == seg:
                found = p
                break
        if found < 0:
            # the longest prefix of the segment found anywhere from pos, to point at the first bad line
            best, best_at = 0, pos
            for p in range(pos, len(act)):
                k = 0
                while k < len(seg) and p + k < len(act) and act[p + k] == seg[k]:
                    k += 1
                if k > best:
                    best, best_at = k, p
                if anchored:
                    break
            got = act[best_at + best] if best_at + best < len(act) else "<end of output>"
            where = "at the start of the output" if anchored else "in order"
            return (
                f"expected line not found {where}: {seg[best]!r}"
                + (f" (after {best} matching line(s); actual has {got!r})" if best else "")
            )
        pos = found + len(seg)
    if not open_end and segments and pos != len(act):
        return f"unexpected output after the last expected line: {act[pos]!r}"
    return None


# --- running ---------------------------------------------------------------------------------------


def _procs_with_home(home: Path) -> list[int]:
    """Pids of our processes whose environment or command line names this MLOPS_HOME."""
    needle_env = f"MLOPS_HOME={home}".encode()
    needle_cmd = str(home).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle_env in env.split(b"\0") or needle_cmd in cmd:
            found.append(int(entry.name))
    return found


def _venv_root() -> Path:
    return Path(sys.executable).parent.parent


def _make_root(tmp_path: Path) -> Path:
    """A scratch repository root: a fresh churn_model/ copy, and a .venv that is the running environment."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(
        REPO / "churn_model",
        root / "churn_model",
        ignore=shutil.ignore_patterns(
            "outputs", "__pycache__", "*.pyc", "model.pkl", "service_schema.json", "*.log", "*.json.tmp"
        ),
    )
    bindir = Path(sys.executable).parent
    if (bindir / "activate").is_file():
        (root / ".venv").symlink_to(_venv_root(), target_is_directory=True)
    else:  # not running from a venv: a stand-in that only puts this interpreter's bin first
        (root / ".venv" / "bin").mkdir(parents=True)
        (root / ".venv" / "bin" / "activate").write_text(f'export PATH="{bindir}:$PATH"\n')
    return root


def _script(blocks: list[Block]) -> str:
    parts = ["set -euo pipefail"]
    for b in blocks:
        parts.append(f"echo '{MARK} {b.index} begin'")
        parts.append(b.code)
        parts.append(f"echo '{MARK} {b.index} end'")
    return "\n".join(parts) + "\n"


def _split(output: str) -> tuple[dict[int, str], int | None]:
    """Per-block output, and the index of a block that began but did not end (the failing one)."""
    chunks: dict[int, list[str]] = {}
    current: int | None = None
    unfinished: int | None = None
    for line in output.splitlines():
        m = re.fullmatch(rf"{MARK} (\d+) (begin|end)", line)
        if m:
            n = int(m.group(1))
            if m.group(2) == "begin":
                current, unfinished = n, n
                chunks[n] = []
            else:
                current, unfinished = None, None
            continue
        if current is not None:
            chunks[current].append(line)
    return {k: "\n".join(v) for k, v in chunks.items()}, unfinished


def _report(lab: Path, block: Block, reason: str, actual: str, expected: str | None) -> str:
    bar = "-" * 100
    out = [
        f"{lab.name}, bash block {block.index} (line {block.line}): {reason}",
        bar,
        "BLOCK:",
        block.code,
        bar,
    ]
    if expected is not None:
        out += ["EXPECTED:", expected, bar]
    out += ["ACTUAL:", actual, bar]
    return "\n".join(out)


def _stop_engine(env: dict[str, str], home: Path) -> list[int]:
    subprocess.run(
        [sys.executable, "-m", "mlops_engine", "daemon", "stop"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 10
    left = _procs_with_home(home)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _procs_with_home(home)
    for pid in left:  # ours, named by pid; reported as a failure below
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


@pytest.mark.parametrize("lab", LAB_FILES, ids=[p.name for p in LAB_FILES])
def test_lab_runs_as_printed(lab: Path, tmp_path: Path) -> None:
    blocks = parse_lab(lab)
    assert blocks, f"{lab.name} has no ```bash blocks"

    root = _make_root(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    mlops_home = home / ".mlops"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "VIRTUAL_ENV", "AZURE_"))}
    env.update(
        HOME=str(home),
        MLOPS_HOME=str(mlops_home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        PYTHONUNBUFFERED="1",  # keep stdout and stderr lines in the order they were written
        PYTHONDONTWRITEBYTECODE="1",
        LC_ALL="C.UTF-8",
        COLUMNS="200",
    )
    assert str(env["HOME"]).startswith(str(tmp_path))  # the labs' reset steps may remove ~/.mlops

    started = time.monotonic()
    proc = subprocess.Popen(
        ["bash", "-c", _script(blocks)],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        raw, _ = proc.communicate(timeout=LAB_TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate()
        timed_out = True
    elapsed = time.monotonic() - started
    left = _stop_engine(env, mlops_home)

    output = raw.decode("utf-8", "replace")
    chunks, unfinished = _split(output)
    print(f"{lab.name}: {len(blocks)} blocks in {elapsed:.1f} s")

    by_index = {b.index: b for b in blocks}
    if timed_out or proc.returncode != 0:
        failing = by_index.get(unfinished or 0)
        why = (
            f"timed out after {LAB_TIMEOUT} s" if timed_out else f"bash exited with status {proc.returncode}"
        )
        if failing is None:
            pytest.fail(f"{lab.name}: {why} outside any block\n{output[-4000:]}")
        pytest.fail(
            _report(lab, failing, f"{why} while running this block", chunks.get(failing.index, ""),
                    failing.expected)
        )

    problems = []
    for b in blocks:
        if b.expected is None:
            continue
        reason = check_output(b.expected, chunks.get(b.index, ""))
        if reason:
            problems.append(_report(lab, b, reason, chunks.get(b.index, ""), b.expected))
    if problems:
        pytest.fail("\n\n".join(problems))
    assert not left, f"{lab.name}: processes left running after 'daemon stop' (killed): {left}"


# --- self-tests of the matcher (fast) ------------------------------------------------------------------


def test_normalise_volatile_parts() -> None:
    assert normalise("Id: 07fc6b77703842b9a1ef00127796ea87") == "Id: <HEX>"
    assert (
        normalise("Service ID: churn42.lab42cluster-22692453.eastus2")
        == "Service ID: churn42.lab42cluster-<SFX>.eastus2"
    )
    assert normalise("    http://127.0.0.1:43911/score") == "http://127.0.0.1:<PORT>/score"
    assert normalise("Creating image......Done.") == normalise("Creating image.Done.")
    assert normalise("Status: Completed (exit code 0, 2.2 s)") == "Status: Completed (exit code 0, <DUR>)"
    assert normalise("RunId: churn_model_1795239140897") == "RunId: <RUNID>"
    assert normalise("Log: /tmp/pytest-of-x/h/.mlops/runs/a/driver_log.txt") == "Log: <PATH>"
    assert normalise("PrimaryKey: cfeb0b2b4aa61ee8aff4ee906a8ed838") == "PrimaryKey: <KEY>"


def test_matcher_contiguity_and_ellipsis() -> None:
    actual = "a\nb\nc\nd"
    assert check_output("a\nb\nc\nd", actual) is None
    assert check_output("a\n...\nd", actual) is None
    assert check_output("...\nc", actual) is not None  # must reach the end unless it ends with ...
    assert check_output("...\nc\n...", actual) is None
    assert check_output("a\nc\n...", actual) is not None  # not consecutive
    assert check_output("b\n...", actual) is not None  # must start at the first line
    assert "expected line not found" in (check_output("a\nx\n...", actual) or "")
