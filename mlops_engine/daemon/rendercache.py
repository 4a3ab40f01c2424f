"""The rendered JSON text of immutable records, by id (bounded, least recently used out).

Models never change once registered, so their wire text is rendered once and reused: a list of 10,000
model versions is then a join of cached texts instead of 10,000 records decoded and encoded again. The
store stays the only source of truth; this is a memo of the serializer's output.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable


class RenderCache:
    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[str]) -> dict[str, str]:
        """The cached texts of `ids` (misses are absent)."""
        with self._lock:
            found = {}
            for rid in ids:
                text = self._texts.get(rid)
                if text is not None:
                    found[rid] = text
            for rid in found:
                self._texts.move_to_end(rid)
            return found

    def put(self, rid: str, text: str) -> None:
        with self._lock:
            self._texts[rid] = text
            self._texts.move_to_end(rid)
            while len(self._texts) > self.max_entries:
                self._texts.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._texts)
