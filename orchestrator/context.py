"""What steps share during one run: the az client, the journal, output, time and the typed products."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import paths
from orchestrator.azcli import Az
from orchestrator.errors import CommandFailed
from orchestrator.journal import Journal
from orchestrator.output import Output
from orchestrator.products import Contract, P, Product, Products
from orchestrator.recipes import Recipe
from orchestrator.retry import Clock, Sleep
from orchestrator.runner import DEFAULT_TIMEOUT_S, CommandResult, Runner


class JournalingRunner:
    """Wraps a Runner: every call is journaled before it starts and after it ends (kill -9 safe)."""

    def __init__(self, inner: Runner, journal: Journal, run_id: int) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id
        self.step_id: int | None = None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        call_id = self.journal.start_call(self.run_id, self.step_id, argv)
        try:
            result = self.inner.run(argv, timeout=timeout, ok_codes=ok_codes, cwd=cwd)
        except CommandFailed as exc:
            self.journal.finish_call(call_id, exc.result.exit_code)
            raise
        self.journal.finish_call(call_id, result.exit_code)
        return result


@dataclass(frozen=True)
class Options:
    """Command options a step reads besides the recipe: `rollback --to VERSION|IMAGE_ID`."""

    to: str | None = None


class UndeclaredProduct(RuntimeError):
    """A step read or provided a product its `Contract` does not declare (a bug in that step)."""


@dataclass
class Context:
    """Mutable per-run state; `products` holds the typed records earlier steps provided."""

    recipe: Recipe
    az: Az
    runner: Runner
    journal: Journal
    out: Output
    run_id: int
    python: str
    prog: str = "python mlops.py"
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    options: Options = field(default_factory=Options)
    products: Products = field(default_factory=Products)
    step: str = ""
    contract: Contract = field(default_factory=Contract)
    _provided: set[type[Product]] = field(default_factory=set)

    def enter(self, kind: str, contract: Contract) -> None:
        """Set the step about to run: `need`, `use` and `provide` check against its contract."""
        self.step, self.contract = kind, contract
        self._provided = set()

    def leave(self) -> None:
        """After a step succeeded: it must have provided everything its contract promises."""
        missing = [t.__name__ for t in self.contract.provides if t not in self._provided]
        if missing:
            raise UndeclaredProduct(f"step {self.step!r} finished without providing {', '.join(missing)}")

    def need(self, kind: type[P]) -> P:
        """A product the step declared in `needs` (the recipe's step order guarantees it)."""
        if kind not in self.contract.needs:
            raise UndeclaredProduct(f"step {self.step!r} reads {kind.__name__} without declaring it in needs")
        item = self.products.find(kind)
        if item is None:  # dataflow.check rejects such recipes before anything runs
            raise UndeclaredProduct(f"step {self.step!r} needs {kind.label}, which no earlier step provided")
        return item

    def use(self, kind: type[P]) -> P | None:
        """A product the step declared in `uses` or `needs`, or None when no earlier step provided it."""
        if kind not in self.contract.uses and kind not in self.contract.needs:
            raise UndeclaredProduct(f"step {self.step!r} reads {kind.__name__} without declaring it in uses")
        return self.products.find(kind)

    def provide(self, item: Product) -> None:
        """Hand a product to later steps (replaces an earlier one of the same type)."""
        if type(item) not in self.contract.provides:
            raise UndeclaredProduct(
                f"step {self.step!r} provides {type(item).__name__} without declaring it in provides"
            )
        self.products.put(item)
        self._provided.add(type(item))

    def staging(self) -> Path:
        """Training outputs and the files `manifest create` uploads (its -f must be in the cwd)."""
        model = self.recipe.params.model
        return paths.work_dir(self.recipe.params.service.name, model.name if model else "none")

    def exists(self, what: str) -> None:
        self.out.info(f"exists: {what}")

    def created(self, what: str) -> None:
        self.out.info(f"created: {what}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
