"""Results of the commands whose genuine output is printed text (the legacy batch commands): that text by
default, and the structured value through the output machinery when `-o json|jsonc|tsv` or `--query` is asked
(the legacy batch commands ignored both: bug B3 of the batch reference, fixed here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Printed:
    """`text` is printed when neither `-o` nor `--query` is given, and for `-o table` (the genuine psql tables);
    otherwise `value` is rendered like any other command's result."""

    value: Any
    text: str

    def choose(self, output: str | None, query_active: bool) -> str | None:
        """The text to print as is, or None when `value` must be rendered."""
        if query_active or output not in (None, "table"):
            return None
        return self.text
