"""Every batch `az ml` call the orchestrator makes (issue 9), as azcli.py does for the realtime ones.

The eight `service ... batch` commands print the genuine batch text (legacy batch reference §3: psql tables,
`Job <j> submitted on service <s>.`, showjob's `Name:`/`State:` lines), so the orchestrator reads that text,
which the genuine CLI printed whatever `-o` said (its bug B3); the engine's `pipeline` commands are asked for
`-o json`. Parsing is pure (azparse_batch.py); errors become `CommandFailed` through `Az.call`.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import azparse_batch as pb
from orchestrator.azcli import SHOW_TIMEOUT_S, WRITE_TIMEOUT_S, Argv, Az, command_name
from orchestrator.errors import CommandFailed

# --- argv builders (pure; also used by --dry-run) ------------------------------------------------


def batch_show_argv(name: str) -> Argv:
    return ("ml", "service", "show", "batch", "-n", name)


def batch_create_argv(
    name: str,
    entry: str,
    title: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    params: Sequence[str],
    dependencies: Sequence[str],
    dask: str | None,
) -> Argv:
    tail: list[str] = ["ml", "service", "create", "batch", "-f", entry, "-n", name, "--contract", "parallel"]
    tail += [f"--in={i}" for i in inputs] + [f"--out={o}" for o in outputs] + [f"--param={p}" for p in params]
    for dep in dependencies:
        tail += ["-d", dep]
    tail += ["--title", title] + (["--dask-scheduler", dask] if dask else [])
    return tuple(tail)


def batch_run_argv(name: str, values: Sequence[str]) -> Argv:
    return ("ml", "service", "run", "batch", "-n", name, *values)


def batch_showjob_argv(name: str, job: str) -> Argv:
    return ("ml", "service", "showjob", "batch", "-n", name, "-j", job)


def pipeline_show_argv(name: str) -> Argv:
    return ("ml", "pipeline", "show", "--id", name, "-o", "json")


def pipeline_publish_argv(name: str, service: str, description: str) -> Argv:
    return (
        "ml",
        "pipeline",
        "publish",
        "-n",
        name,
        "--service-name",
        service,
        "-d",
        description,
        "-o",
        "json",
    )


# --- the client ---------------------------------------------------------------------------------


class AzBatch:
    """The batch and pipeline commands, through the same Runner, policies and error parsing as `Az`."""

    def __init__(self, az: Az) -> None:
        self.az = az

    def _show(self, tail: Argv) -> str | None:
        try:
            return self.az.call(tail, write=False, timeout=SHOW_TIMEOUT_S).stdout
        except CommandFailed as exc:
            if exc.category == "not_found":
                return None
            raise

    def service_show(self, name: str) -> pb.BatchServiceInfo | None:
        tail = batch_show_argv(name)
        text = self._show(tail)
        return pb.parse_service_show(command_name(tail), text) if text is not None else None

    def service_create(
        self,
        name: str,
        entry: str,
        title: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        params: Sequence[str],
        dependencies: Sequence[str],
        dask: str | None,
    ) -> str:
        tail = batch_create_argv(name, entry, title, inputs, outputs, params, dependencies, dask)
        result = self.az.call(tail, write=True, timeout=WRITE_TIMEOUT_S)
        return pb.parse_service_created(command_name(tail), result.stdout)

    def run(self, name: str, values: Sequence[str]) -> str:
        """Submit a job (the CLI names it, %Y-%m-%d_%H%M%S); returns the job name."""
        tail = batch_run_argv(name, values)
        result = self.az.call(tail, write=True, timeout=WRITE_TIMEOUT_S)
        return pb.parse_job_submitted(command_name(tail), result.stdout, name)

    def showjob(self, name: str, job: str) -> pb.BatchJobInfo:
        tail = batch_showjob_argv(name, job)
        return pb.parse_showjob(
            command_name(tail), self.az.call(tail, write=False, timeout=SHOW_TIMEOUT_S).stdout
        )

    def pipeline_show(self, name: str) -> pb.PipelineInfo | None:
        tail = pipeline_show_argv(name)
        text = self._show(tail)
        return pb.parse_pipeline(command_name(tail), text) if text is not None else None

    def pipeline_publish(self, name: str, service: str, description: str) -> pb.PipelineInfo:
        tail = pipeline_publish_argv(name, service, description)
        return pb.parse_pipeline(
            command_name(tail), self.az.call(tail, write=True, timeout=WRITE_TIMEOUT_S).stdout
        )
