"""`mlops history [--service NAME]`: the images deployed on each service, oldest first."""

from __future__ import annotations

from orchestrator import paths
from orchestrator.journalfile import open_journal
from orchestrator.result import Outcome
from orchestrator.session import Session

COLUMNS = ("Service", "Image", "Version", "Image ID", "Model", "Action", "Outcome", "Deployed at")


def history(service: str | None, session: Session) -> Outcome:
    """Read the journal (no az calls)."""
    journal = open_journal(paths.journal_db())
    try:
        rows = journal.deployments(service)
    finally:
        journal.close()
    entries = [
        {
            "service": d.service_name,
            "serviceId": d.service_id,
            "imageId": d.image_id,
            "imageName": d.image_name,
            "imageVersion": d.image_version,
            "modelName": d.model_name,
            "modelVersion": d.model_version,
            "action": d.action,
            "outcome": d.outcome,
            "deployedAt": d.deployed_at,
        }
        for d in rows
    ]
    if not rows:
        session.out.info(f"no deployments recorded{' for service ' + service if service else ''}")
        return Outcome("history", {"service": service, "deployments": []}, tuple(session.out.messages))
    session.out.table(
        COLUMNS,
        [
            (
                d.service_name,
                d.image_name,
                d.image_version,
                d.image_id,
                f"{d.model_name} v{d.model_version}" if d.model_name else "",
                d.action,
                d.outcome,
                d.deployed_at,
            )
            for d in rows
        ],
    )
    return Outcome("history", {"service": service, "deployments": entries}, tuple(session.out.messages))
