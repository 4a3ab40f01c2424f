"""The batch commands' table (legacy batch reference §3, the genuine `command_details.json` flags and usage texts)
and the engine's `pipeline` group (published pipelines and schedules: engine additions, docs/batch.md).

Engine additions to the genuine batch flags (docs/compatibility.md): `--contract`, `--parallel-config` and
`--dask-scheduler` on `service create batch`, `--dask-scheduler` on `service run batch`.
"""

from __future__ import annotations

from typing import Final

from mlops_engine.cli.commands.spec import A, Arg, Command

V: Final = A("-v", dest="verb", action="store_true")
N: Final = A("-n", dest="service_name", required=True)
J: Final = A("-j", dest="job_name", required=True)
DASK: Final = A("--dask-scheduler", dest="dask_scheduler")
_IN_OUT_PARAM: Final = (
    A("--in", dest="inputs", action="append"),
    A("--out", dest="outputs", action="append"),
    A("--param", dest="parameters", action="append"),
)

# The genuine usage texts of the two commands whose command_details.json gave one (transcripts 26, 49b).
CREATE_USAGE: Final = """%(prog)s [-h] [--output={json,tsv,table,jsonc}]
                                  [--verbose] [--debug] [--query=JMESPATH]
                                  --driver-file=DRIVER_FILE -n SERVICE_NAME
                                  [--title=TITLE] [-v]
                                  [--in=<input_name>[:<default_value>]
                                  [--in=...]]
                                  [--out=<output_name>[:<default_value>]
                                  [--out=...]]
                                  [--param=<parameter_name>[:<default_value>]
                                  [--param=...]] [-d <dependency> [-d...]]
                                  [--custom-ice-url=CUSTOM_ICE_URL]"""
RUN_USAGE: Final = """%(prog)s [-h] [--output={json,tsv,table,jsonc}]
                               [--verbose] [--debug] [--query=JMESPATH] -n
                               SERVICE_NAME [-v]
                               [--in=<input_name>[:<default_value>]
                               [--in=...]]
                               [--out=<output_name>[:<default_value>]
                               [--out=...]]
                               [--param=<parameter_name>[:<default_value>]
                               [--param=...]] [-j JOB_NAME] [-w]"""

ENGINE_FLAGS: Final[dict[tuple[str, ...], tuple[str, ...]]] = {
    ("service", "create", "batch"): ("--contract", "--parallel-config", "--dask-scheduler"),
    ("service", "run", "batch"): ("--dask-scheduler",),
}


def _batch(handler: str, *args: Arg, usage: str | None = None) -> Command:
    """`create|list|show|delete` are batch.py's, the job commands batch_jobs.py's."""
    return Command(handler, tuple(args), usage=usage, text_output=True)


BATCH_COMMANDS: Final[dict[tuple[str, ...], Command]] = {
    ("service", "create", "batch"): _batch(
        "batch:create",
        A("--driver-file", "-f", dest="driver_file", required=True),
        N,
        A("--custom-ice-url", dest="custom_ice_url"),
        *_IN_OUT_PARAM,
        A("--title", dest="title"),
        A("-d", dest="dependencies", action="append"),
        V,
        A("--contract", dest="contract"),
        A("--parallel-config", dest="parallel_config"),
        DASK,
        usage=CREATE_USAGE,
    ),
    ("service", "list", "batch"): _batch("batch:list_"),
    ("service", "show", "batch"): _batch("batch:show", N, V),
    ("service", "delete", "batch"): _batch("batch:delete", N, V),
    ("service", "run", "batch"): _batch(
        "batch_jobs:run",
        N,
        *_IN_OUT_PARAM,
        A("-j", dest="job_name"),
        V,
        A("-w", dest="wait", action="store_true"),
        DASK,
        usage=RUN_USAGE,
    ),
    ("service", "showjob", "batch"): _batch("batch_jobs:showjob", N, J, V),
    ("service", "listjobs", "batch"): _batch("batch_jobs:listjobs", N),
    ("service", "canceljob", "batch"): _batch("batch_jobs:canceljob", N, J, V),
}

_ID: Final = A("--id", "-i", dest="pipeline", required=True)
_SCHEDULE: Final = A("--schedule-id", "-s", dest="schedule", required=True)


def _p(handler: str, *args: Arg) -> Command:
    return Command(f"pipeline:{handler}", tuple(args))


PIPELINE_COMMANDS: Final[dict[tuple[str, ...], Command]] = {
    ("pipeline", "publish"): _p(
        "publish",
        A("--name", "-n", dest="name", required=True),
        A("--service-name", dest="service_name", required=True),
        A("--description", "-d", dest="description", default=""),
    ),
    ("pipeline", "list"): _p("list_"),
    ("pipeline", "show"): _p("show", _ID),
    ("pipeline", "keys"): _p("keys", _ID, A("--regen", dest="regen")),
    ("pipeline", "enable"): _p("enable", _ID),
    ("pipeline", "disable"): _p("disable", _ID),
    ("pipeline", "delete"): _p("delete", _ID),
    ("pipeline", "create-schedule"): _p(
        "create_schedule",
        A("--name", "-n", dest="name", required=True),
        A("--pipeline-id", "-i", dest="pipeline", required=True),
        A("--experiment-name", "-e", dest="experiment", required=True),
        A("--frequency", "-f", dest="frequency", required=True),
        A("--interval", dest="interval", type=int, default=1),
        A("--start-time", dest="start_time"),
        A("--param", dest="parameters", action="append"),
        A("--run-now", dest="run_now", action="store_true"),
    ),
    ("pipeline", "list-schedules"): _p("list_schedules"),
    ("pipeline", "show-schedule"): _p("show_schedule", _SCHEDULE),
    ("pipeline", "enable-schedule"): _p("enable_schedule", _SCHEDULE),
    ("pipeline", "disable-schedule"): _p("disable_schedule", _SCHEDULE),
    ("pipeline", "delete-schedule"): _p("delete_schedule", _SCHEDULE),
}
