"""What the engine does instead, for each batch transcript it deliberately does not reproduce: the reason
(docs/compatibility.md, "Batch commands"; the genuine bugs B1-B16 of the legacy batch reference) and the check
of the fixed behaviour on the replayed command."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conformance.harness import Transcript
from tests.conformance_batch.harness import TRANSCRIPTS, normalize_batch

NO_ENV = "ERROR: {'Error': \"Error retrieving currently set environment. Please run 'az ml env set'\"}\n"


@dataclass(frozen=True)
class Replayed:
    transcript: Transcript
    argv: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int
    work: Path
    setup_error: str | None = None

    def out(self) -> str:
        return normalize_batch(self.stdout, self.work)

    def err(self) -> str:
        return normalize_batch(self.stderr, self.work)

    def recorded(self) -> str:
        return normalize_batch(self.transcript.stdout)


@dataclass(frozen=True)
class Promise:
    reason: str
    check: Callable[[Replayed], None]


def _exit(r: Replayed, code: int) -> None:
    assert r.exit_code == code, f"exit {r.exit_code}, expected {code}\n{r.stdout}\n{r.stderr}"


def _no_bytes(r: Replayed) -> None:
    assert "b'" not in r.stdout + r.stderr, "a Python bytes literal was printed (B4)"


def _moved_to_stderr(r: Replayed) -> None:
    """B3: the genuine error text, unchanged, on stderr with exit code 1 (it printed it on stdout, exit 0)."""
    _exit(r, 1)
    assert r.stdout == "" and r.err() == r.recorded(), (r.err(), r.recorded())


def _b1_registered(r: Replayed) -> None:
    """B1: the command is registered and imports; at that point no environment is set, which it says."""
    _exit(r, 1)
    assert r.stdout == "" and r.stderr == NO_ENV


def _help_plus_engine_flags(r: Replayed) -> None:
    """The genuine help, plus a `Local Engine Arguments` section (alignment follows the longest flag)."""
    _exit(r, 0)
    ours = (
        r.stdout.split("Local Engine Arguments")[0]
        + "Global Arguments"
        + r.stdout.split("Global Arguments")[1]
    )
    assert _words(ours) == _words(r.transcript.stdout)
    assert "Local Engine Arguments\n    --" in r.stdout


def _words(text: str) -> str:
    return " ".join(text.split()).replace(" :", ":")


def _help_of_01(r: Replayed) -> None:
    genuine = (
        (TRANSCRIPTS / "01_create_help.txt").read_text().split("----- stdout -----\n")[1].split("----- ")[0]
    )
    _exit(r, 0)
    ours = (
        r.stdout.split("Local Engine Arguments")[0]
        + "Global Arguments"
        + r.stdout.split("Global Arguments")[1]
    )
    assert ours == genuine


def _lists(r: Replayed) -> None:
    """No HDInsight: no AML_HDI_* variables, no app to install, no health check; the services are listed."""
    _exit(r, 0)
    assert r.stdout.startswith("+") and "| NAME" in r.stdout and "AML_HDI" not in r.stdout + r.stderr
    assert "az ml env about" not in r.stdout  # B8: that command does not exist


def _created(usage: str) -> Callable[[Replayed], None]:
    def check(r: Replayed) -> None:
        _exit(r, 0)
        assert r.stdout.startswith("Success.\n+") and r.stdout.rstrip().endswith(usage), r.stdout

    return check


def _error(message: str) -> Callable[[Replayed], None]:
    def check(r: Replayed) -> None:
        _exit(r, 1)
        assert r.stdout == "" and message in r.stderr, r.stderr

    return check


def _create_verbose(r: Replayed) -> None:
    """B4, B5, B6: -v prints JSON text, no Spark configuration; uploads go to the engine's artifact store."""
    _exit(r, 0)
    _no_bytes(r)
    lines = r.stdout.splitlines()
    assert r.out().splitlines()[:4] == r.recorded().splitlines()[:4]  # outputs/inputs/parameters/driver_file
    payload = json.loads(
        next(line for line in lines if line.startswith("json_payload: "))[len("json_payload: ") :]
    )
    assert "Configuration" not in json.dumps(payload) and payload["parameters"][1]["value"].endswith(
        "out.parquet"
    )
    assert any(re.match(r"Asset \S+food_driver.py uploaded to artifact://sha256/", line) for line in lines)
    tail = r.recorded().splitlines()[-7:]
    assert r.out().splitlines()[-7:] == tail


def _minimal_usage(r: Replayed) -> None:
    """B9: no double space in the usage line of a service without parameters."""
    _exit(r, 0)
    assert r.out() == r.recorded().replace("-n minimal  [-w]", "-n minimal [-w]")


def _show_verbose(r: Replayed) -> None:
    _exit(r, 0)
    _no_bytes(r)
    first, rest = r.stdout.split("\n", 1)
    assert json.loads(first)["name"] == "foodinspect"
    assert normalize_batch(rest, r.work) == r.recorded().split("\n", 1)[1]


def _missing_max_rows(r: Replayed) -> None:
    """The declared --max-rows has no default and no value: refused at submission with the reason (the genuine
    service accepted the job and let the driver fail)."""
    _exit(r, 1)
    _no_bytes(r)
    assert "Failed.\nResponse code: 400\nno value for parameter --max-rows" in r.stderr, r.stderr


def _default_job_name(r: Replayed) -> None:
    """B7: the default job name is the documented %Y-%m-%d_%H%M%S (the code used %Y%m%d%H%M%S)."""
    _exit(r, 0)
    assert re.fullmatch(
        r"Job \d{4}-\d{2}-\d{2}_\d{6} submitted on service foodinspect\.", r.stdout.splitlines()[0]
    )
    assert r.out() == r.recorded().replace("<JOBTIME14>", "<JOBTIME>")


def _no_yarn(r: Replayed) -> None:
    """No YARN: the job's log file, not a YarnAppId and an HDInsight YARN UI link (B10)."""
    _exit(r, 0)
    _no_bytes(r)
    lines = r.stdout.splitlines()
    assert "Name: foodinspect" in lines and any(line.startswith("JobId: ") for line in lines)
    assert any(line.startswith("State: ") for line in lines) and "YarnAppId" not in r.stdout


def _listjobs_documented_names(r: Replayed) -> None:
    _exit(r, 0)
    assert r.out() == r.recorded().replace("<JOBTIME14>", "<JOBTIME>")


def _bodies_as_text(r: Replayed) -> None:
    """B4: the bodies -v prints are text; the other lines are the genuine ones, in order."""
    _exit(r, 0)
    _no_bytes(r)
    ours = r.out().splitlines()
    wanted = [line for line in r.recorded().splitlines() if not line.startswith("b'")]
    it = iter(ours)
    assert all(any(line == mine for mine in it) for line in wanted), (wanted, ours)


def _local_run_wait(r: Replayed) -> None:
    _exit(r, 0)
    _no_bytes(r)
    assert "Job ljob1 submitted on service localsvc." in r.stdout
    assert r.out().splitlines()[-5:] == r.recorded().splitlines()[-5:]  # Succeeded, then the description


def _k8s_create(r: Replayed) -> None:
    """B2: the k8s create crashed after uploading (test_aml_acr); here it creates the service."""
    _exit(r, 0)
    assert "Traceback" not in r.stderr and "Success.\n+" in r.stdout


B3 = "B3: handled errors exit 1 and go to stderr (the genuine CLI printed them on stdout and exited 0)"
HDI = "no HDInsight: the engine is the batch service (no AML_HDI_* variables, no app to install, no health check)"
MAX_ROWS = "the job lacks a value for the declared --max-rows: refused at submission, not failed later"
YARN = "no YARN: jobs report their log file (as the genuine local/k8s services did), never a YarnAppId (B10)"
PROMISES: dict[str, Promise] = {
    "00_asshipped_list": Promise("B1: the batch commands import and run", _b1_registered),
    "00b_asshipped_create_help": Promise("B1: the batch commands import; -h prints the help", _help_of_01),
    "00c_unregistered_stock_cli": Promise("B1: the batch commands are registered", _b1_registered),
    "01_create_help": Promise(
        "engine flags --contract, --parallel-config, --dask-scheduler in their own section",
        _help_plus_engine_flags,
    ),
    "02_run_help": Promise("engine flag --dask-scheduler in its own section", _help_plus_engine_flags),
    "11_list_missing_hdi_vars": Promise(HDI, _lists),
    "12_list_app_not_installed": Promise(HDI, _lists),
    "12b_list_health_500": Promise(HDI, _lists),
    "13_list_auth_failed": Promise(HDI + " (B13)", _lists),
    "15_create_storage_mismatch": Promise(
        "no storage account to check: the service is created",
        _created("-n foodinspect --in=--input-data:<value> [-w] [-j <job_id>] [-v]"),
    ),
    "21_create_v": Promise(
        "B4, B5, B6; files go to the engine's artifact store, not blob storage", _create_verbose
    ),
    "22_create_missing_driver": Promise(B3, _moved_to_stderr),
    "23_create_missing_dependency": Promise(B3, _moved_to_stderr),
    "24_create_local_output_default": Promise(
        "local output paths are what the engine writes to: created",
        _created("[--out=--output-data:<value>] [-w] [-j <job_id>] [-v]"),
    ),
    "25_create_foreign_remote_default": Promise(
        "no blob storage: a remote default is refused with the reason, exit 1",
        _error(
            "Error creating parameter list: Remote paths (https://otheracct.blob.core.windows.net/data/x.csv) "
            "are not supported by the local engine: give a local path or a file:// URI"
        ),
    ),
    "28_create_minimal": Promise("B9: no double space in the usage line", _minimal_usage),
    "32_show_v": Promise("B4: -v prints the body as text", _show_verbose),
    "33_show_unknown": Promise(B3, _moved_to_stderr),
    "40_run": Promise(MAX_ROWS, _missing_max_rows),
    "41_run_wait": Promise(MAX_ROWS, _missing_max_rows),
    "42_run_default_jobname": Promise("B7: the documented default job name", _default_job_name),
    "43_run_wait_fail": Promise(MAX_ROWS, _missing_max_rows),
    "44_run_wait_v": Promise(MAX_ROWS + "; B4", _missing_max_rows),
    "45_run_missing_value": Promise(B3, _moved_to_stderr),
    "46_run_local_output": Promise("local outputs are accepted; then " + MAX_ROWS, _missing_max_rows),
    "47_run_foreign_remote": Promise(
        "no blob storage: a remote value is refused with the reason, exit 1",
        _error(
            "Unable to process parameters: Remote paths (https://otheracct.blob.core.windows.net/data/x.csv) "
            "are not supported by the local engine"
        ),
    ),
    "48_run_missing_input_file": Promise(B3, _moved_to_stderr),
    "49_run_unknown_service": Promise(B3, _moved_to_stderr),
    "51_showjob_running": Promise(YARN, _no_yarn),
    "51b_showjob_running_v": Promise(YARN + "; B4", _no_yarn),
    "52_showjob_succeeded": Promise(YARN, _no_yarn),
    "53_showjob_failed": Promise(YARN, _no_yarn),
    "54_showjob_v": Promise(YARN + "; B4", _no_yarn),
    "55_showjob_unknown_job": Promise(B3, _moved_to_stderr),
    "56_showjob_unknown_service": Promise(B3, _moved_to_stderr),
    "60_listjobs": Promise(
        "B7: the default job name of 42 is the documented one", _listjobs_documented_names
    ),
    "61_listjobs_unknown_service": Promise(B3, _moved_to_stderr),
    "72_canceljob_v": Promise("B4: -v prints the body as text", _bodies_as_text),
    "73_canceljob_unknown_job": Promise(B3, _moved_to_stderr),
    "81_delete_again": Promise(B3, _moved_to_stderr),
    "82_delete_v": Promise("B4: -v prints the bodies as text", _bodies_as_text),
    "93_local_run_wait": Promise(
        "B4: -v prints the bodies as text; -w prints a line per change", _local_run_wait
    ),
    "99_k8s_create": Promise("B2: the genuine k8s create crashed; here it creates the service", _k8s_create),
}
