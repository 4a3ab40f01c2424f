"""The committed cassettes are exactly what build_cassettes.py builds: regenerate them into a temporary
folder and fail on any difference (a changed, missing or extra file), printing the diff."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

CASSETTES = Path(__file__).resolve().parent
BUILDER = CASSETTES / "build_cassettes.py"


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))}


def test_regenerated_cassettes_equal_the_committed_ones(tmp_path: Path) -> None:
    out = tmp_path / "cassettes"
    proc = subprocess.run([sys.executable, str(BUILDER), "--out", str(out)], check=False, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"build_cassettes.py failed:\n{proc.stdout}\n{proc.stderr}"
    built, committed = _tree(out), _tree(CASSETTES)
    assert built, "build_cassettes.py wrote no cassette"
    problems = [f"{name}: committed but not built by build_cassettes.py" for name in committed.keys() - built.keys()]
    problems += [f"{name}: built but not committed" for name in built.keys() - committed.keys()]
    for name in sorted(built.keys() & committed.keys()):
        if built[name] != committed[name]:
            diff = difflib.unified_diff(committed[name].splitlines(), built[name].splitlines(),
                                        f"committed/{name}", f"rebuilt/{name}", lineterm="")
            problems.append("\n".join(diff))
    assert not problems, "cassettes differ from build_cassettes.py's output (run it and review the diff):\n" + (
        "\n".join(sorted(problems)))
