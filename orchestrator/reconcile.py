"""Settling the journal rows a run could not finish, against what `service show -v` reports (issue 13, item 7).

Why this shape: a deployment row is written 'pending' before the az call and finished after it, so a run
killed in between (an interrupted rollback) left 'pending' forever; and a deploy that failed on the client's
side (a polling deadline, a name another client took first) could leave 'failed' for a service that is
live on that very image. A run holding the home's lock (runlock.py) knows every other run is dead, so
before it touches a service it settles that service's rows:
* 'pending' -> 'deployed' when it is the service's latest row and the service runs its image now, else
  'interrupted';
* a 'failed' row whose run never got to its smoke test (the failure was the deploy command's) while the
  service runs its image: a create that lost a race to another create of the same image becomes
  'deployed' ('adopt'); the service's latest row becomes 'deployed' (the deploy took effect after all, e.g.
  after a polling deadline). A failed smoke test stays failed.
A service in a transitional state is left alone: the engine is still working and the next run settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from orchestrator.journal import Deployment, Journal

LIVE: Final = ("succeeded", "deployed")
SETTLED_STATES: Final = ("Succeeded", "Failed", "Healthy", "Unhealthy")


@dataclass(frozen=True)
class Live:
    """The service as `service show -v` reports it (None fields: it does not exist)."""

    image_id: str | None
    state: str | None


@dataclass(frozen=True)
class Settlement:
    """A correction of one row."""

    deployment: Deployment
    outcome: str
    action: str | None = None

    def describe(self) -> str:
        d = self.deployment
        image = f"{d.image_name}:{d.image_version}" if d.image_name else d.image_id
        became = self.outcome + (f" ({self.action})" if self.action else "")
        return f"journal: {d.action} of {d.service_name} to image {image} (row {d.id}) was {d.outcome}, now {became}"


def settlements(rows: Sequence[Deployment], live: Live, smoke_ran: Callable[[int | None], bool]) -> list[Settlement]:
    """The corrections for one service's rows (oldest first), given what the engine reports now."""
    if not rows or (live.state is not None and live.state not in SETTLED_STATES):
        return []
    latest = rows[-1]
    out: list[Settlement] = []
    for d in rows:
        runs_it = live.image_id is not None and live.image_id == d.image_id
        if d.outcome == "pending":
            out.append(Settlement(d, "deployed" if d is latest and runs_it else "interrupted"))
        elif d.outcome == "failed" and runs_it and not smoke_ran(d.run_id):
            deployed_by_another = any(e is not d and e.image_id == d.image_id and e.outcome in LIVE for e in rows)
            if d.action == "create" and deployed_by_another:  # two creates raced; the other one won
                out.append(Settlement(d, "deployed", "adopt"))
            elif d is latest:
                out.append(Settlement(d, "deployed"))
    return out


def reconcile(journal: Journal, service_name: str, live: Live) -> list[Settlement]:
    """Apply `settlements` to the journal; returns what changed (for the run's output)."""
    changes = settlements(journal.deployments(service_name), live, journal.smoke_ran)
    for change in changes:
        journal.settle(change.deployment.id, change.outcome, change.action)
    return changes


def needs_reconcile(journal: Journal, service_name: str) -> bool:
    """Whether the service has a row `reconcile` might change (so a `service show -v` is worth its cost)."""
    rows = journal.deployments(service_name)
    return any(
        d.outcome == "pending" or (d.outcome == "failed" and not journal.smoke_ran(d.run_id)) for d in rows
    )
