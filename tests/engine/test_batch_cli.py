"""The eight `az ml service ... batch` commands on the engine, through the CLI, as a user types them
(legacy batch reference §3): both driver contracts, output formats, exit codes and bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .batch_kit import copy_fixtures, create_parallel, expected, job, setup, wait_job, write_csv

TABLE_ROW = re.compile(r"^\| (\S+)\s+\|", re.MULTILINE)


def test_legacy_driver_end_to_end(cli_engine):
    setup(cli_engine)
    work = copy_fixtures(cli_engine)
    data = write_csv(work / "data.csv", 20)
    out = cli_engine.az_ok(
        "service",
        "create",
        "batch",
        "-f",
        "driver.py",
        "-n",
        "scorer",
        f"--in=--input-data:{data.name}",
        "--out=--output-data",
        "--param=--threshold:4",
        "--param=--sleep",
        "-d",
        "helper.py",
        "-d",
        "lookup.txt",
        "--title",
        "Food inspection scorer",
    )
    assert out.startswith("Success.\n+--------+")
    assert out.rstrip().endswith(
        "Usage: az ml service run batch -n scorer --param=--sleep:<value> --out=--output-data:<value> "
        "[--in=--input-data:<value>] [--param=--threshold:<value>] [-w] [-j <job_id>] [-v]"
    )
    listed = cli_engine.az_ok("service", "list", "batch")
    assert TABLE_ROW.findall(listed) == ["NAME", "scorer"]
    shown = cli_engine.az_ok("service", "show", "batch", "-n", "scorer")
    assert "| --input-data | --output-data | --threshold, --sleep |" in shown
    assert shown == cli_engine.az_ok("service", "show", "batch", "-n", "scorer", "-o", "table")
    # run -w: the driver gets `--input-data <abs> --output-data <abs> --threshold 4 --sleep 0` and its dependencies
    proc = cli_engine.az(
        "service",
        "run",
        "batch",
        "-n",
        "scorer",
        "--out=--output-data:results/out.txt",
        "--param=--sleep:0",
        "-j",
        "job1",
        "-w",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Job job1 submitted on service scorer." and "State: Succeeded" in lines
    assert lines[-4:-1] == ["Name: scorer", "JobId: job1", lines[-2]] and lines[-2].startswith(
        "Logs available at: file://"
    )
    scored = (work / "results" / "out.txt").read_text().splitlines()
    assert scored == [f"{i} {'high' if i * 0.5 > 4 else 'low'}" for i in range(20)]
    log = Path(lines[-2].split("file://", 1)[1]).read_text()
    assert "scored 20 rows" in log
    shown = job(cli_engine, "scorer", "job1")
    assert shown["State"] == "Succeeded" and shown["Parameters"]["--output-data"] == str(
        work / "results/out.txt"
    )
    # a second job (without -j: the documented default name), listed in submission order
    second = cli_engine.az_ok(
        "service", "run", "batch", "-n", "scorer", "--out=--output-data:results/two.txt", "--param=--sleep:0"
    )
    name = re.match(r"Job (\S+) submitted on service scorer\.", second).group(1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{6}", name), name  # B7: %Y-%m-%d_%H%M%S, as the help says
    assert second.endswith(f"To check job status, run: az ml service showjob batch -n scorer -j {name}\n")
    wait_job(cli_engine, "scorer", name, lambda j: j["State"] == "Succeeded")
    assert TABLE_ROW.findall(cli_engine.az_ok("service", "listjobs", "batch", "-n", "scorer")) == [
        "NAME",
        "job1",
        name,
    ]
    assert cli_engine.az_ok("service", "delete", "batch", "-n", "scorer") == "Service scorer deleted.\n"
    gone = cli_engine.az("service", "show", "batch", "-n", "scorer")
    assert (gone.returncode, gone.stdout) == (1, "")
    assert gone.stderr == "Failed.\nResponse code: 404\nWeb service 'scorer' not found.\n"


def test_output_formats_and_query_are_honoured(cli_engine):
    """B3: -o json|tsv and --query work on every batch command; the text is printed without them."""
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 30)
    create_parallel(cli_engine, "fmt", data, "mini_batch_size:256")
    services = cli_engine.az_json("service", "list", "batch")
    assert [s["Name"] for s in services] == ["fmt"] and services[0]["Contract"] == "parallel"
    assert cli_engine.az_ok("service", "list", "batch", "--query", "[].Name", "-o", "tsv") == "fmt\n"
    params = cli_engine.az_json("service", "show", "batch", "-n", "fmt")["Parameters"]
    assert [p["Id"] for p in params] == ["--input", "--output", "--control", "mini_batch_size"]
    submitted = cli_engine.az_json("service", "run", "batch", "-n", "fmt", "-j", "j1")
    assert submitted["JobId"] == "j1" and submitted["State"] in ("NotStarted", "InProgress")
    done = wait_job(cli_engine, "fmt", "j1", lambda j: j["State"] == "Succeeded")
    assert done["Progress"]["ItemsDone"] == 30 and done["Partial"] is False
    assert (
        cli_engine.az_ok(
            "service", "showjob", "batch", "-n", "fmt", "-j", "j1", "--query", "State", "-o", "tsv"
        )
        == "Succeeded\n"
    )
    text = cli_engine.az_ok("service", "showjob", "batch", "-n", "fmt", "-j", "j1")
    assert "State: Succeeded\nProgress: mini-batches" in text and f"Output: {done['OutputPath']}\n" in text
    assert Path(done["OutputPath"]).read_text() == expected(30)
    for argv in (("service", "list", "batch", "-v"), ("service", "show", "batch", "-n", "fmt", "-v")):
        proc = cli_engine.az(*argv)
        assert "b'" not in proc.stdout + proc.stderr, argv  # B4: no Python bytes literals
    verbose = cli_engine.az_ok("service", "show", "batch", "-n", "fmt", "-v").splitlines()
    assert json.loads(verbose[0])["name"] == "fmt"


def test_parallel_config_file_and_entry_script_arguments(cli_engine):
    setup(cli_engine)
    work = copy_fixtures(cli_engine)
    data = write_csv(work / "in.csv", 200)
    (work / "parallel.yml").write_text(
        "parallel_run:\n  mini_batch_size: 1KB\n  process_count_per_node: 2\n  error_threshold: 0\n"
    )
    cli_engine.az_ok(
        "service",
        "create",
        "batch",
        "-f",
        "entry.py",
        "-n",
        "cfg",
        "--parallel-config",
        "parallel.yml",
        "--in=--input",
        "--out=--output:out",
        "--param=--factor:2",
    )
    settings = cli_engine.az_json("service", "show", "batch", "-n", "cfg")["ParallelRunSettings"]
    assert settings == {"mini_batch_size": "1KB", "process_count_per_node": "2", "error_threshold": "0"}
    proc = cli_engine.az(
        "service",
        "run",
        "batch",
        "-n",
        "cfg",
        f"--in=--input:{data}",
        "--param=--factor:7",
        "-j",
        "seven",
        "-w",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(
        r"^InProgress: mini-batches \d+/\d+, [\d,]+ rows/s$|^Succeeded$", proc.stdout, re.MULTILINE
    )
    assert (work / "out" / "seven" / "parallel_run_step.txt").read_text() == expected(200, 7)
    # a setting given at run time overrides the file's; a bad value is refused at submission
    bad = cli_engine.az(
        "service", "run", "batch", "-n", "cfg", f"--in=--input:{data}", "--param=run_max_try:0"
    )
    assert bad.returncode == 1 and "run_max_try: must be in [1," in bad.stderr


def test_bad_input_is_refused_with_the_reason_and_exit_code_1(cli_engine):
    setup(cli_engine)
    work = copy_fixtures(cli_engine)
    data = write_csv(work / "in.csv", 5)
    checks = [
        (
            ("service", "create", "batch", "-f", "nosuch.py", "-n", "bad"),
            f"Error uploading driver: {work / 'nosuch.py'} does not exist or is not accessible",
        ),
        (
            ("service", "create", "batch", "-f", "driver.py", "-n", "bad", "-d", "nosuch.py"),
            f"Error uploading dependencies: {work / 'nosuch.py'} does not exist or is not accessible",
        ),
        (
            (
                "service",
                "create",
                "batch",
                "-f",
                "driver.py",
                "-n",
                "bad",
                "--in=--in:https://acct.blob.core.windows.net/x",
            ),
            "Remote paths (https://acct.blob.core.windows.net/x) are not supported by the local engine",
        ),
        (
            ("service", "create", "batch", "-f", "driver.py", "-n", "bad", "--in=--a", "--param=--a:1"),
            "Error creating parameter list: --a declared twice",
        ),
        (
            ("service", "create", "batch", "-f", "driver.py", "-n", "bad", "--contract", "parallel"),
            "A parallel batch service takes its input files or folders from --in parameters",
        ),
        (
            (
                "service",
                "create",
                "batch",
                "-f",
                "helper.py",
                "-n",
                "bad",
                "--contract",
                "parallel",
                "--in=--i",
                "--out=--o",
            ),
            "helper.py: entry script",
        ),
        (
            ("service", "create", "batch", "-f", "driver.py", "-n", "bad/name"),
            "Invalid web service name 'bad/name'",
        ),
    ]
    (work / "adir.py").mkdir()
    checks.append(
        (
            ("service", "create", "batch", "-f", "adir.py", "-n", "bad"),
            f"Error uploading driver: {work / 'adir.py'} does not exist or is not accessible",
        )
    )
    os.chmod(work / "lookup.txt", 0)
    if not os.access(work / "lookup.txt", os.R_OK):  # (root reads a mode-0 file: then only the folder case)
        checks.append(
            (
                ("service", "create", "batch", "-f", "lookup.txt", "-n", "bad"),
                f"Error uploading driver: {work / 'lookup.txt'} does not exist or is not accessible",
            )
        )
    for argv, message in checks:
        proc = cli_engine.az(*argv)
        assert (proc.returncode, proc.stdout) == (1, ""), (argv, proc.stdout, proc.stderr)
        assert message in proc.stderr, (argv, proc.stderr)
    os.chmod(work / "lookup.txt", 0o644)
    cli_engine.az_ok(
        "service",
        "create",
        "batch",
        "-f",
        "driver.py",
        "-n",
        "svc",
        "--in=--input-data",
        "--out=--output-data",
        "--param=--threshold",
        "--param=--sleep:0",
        "-d",
        "helper.py",
        "-d",
        "lookup.txt",
    )
    run = ("service", "run", "batch", "-n", "svc")
    checks = [
        ((*run, "--in=--input-data"), "Must provide value for service parameter --input-data"),
        (
            (*run, "--in=--input-data:nosuch.csv"),
            (f"Unable to process parameters: {work / 'nosuch.csv'} does not exist or is not accessible"),
        ),
        (
            (*run, f"--in=--input-data:{data}", "--param=--threshold:1", "--param=--threshold:2"),
            "--threshold is given twice",
        ),  # B16
        (
            (*run, f"--in=--input-data:{data}", "--out=--output-data:o.txt"),
            "Failed.\nResponse code: 400\nno value for parameter --threshold; give <Id>:<value> for each",
        ),
        (
            (
                *run,
                f"--in=--input-data:{data}",
                "--out=--output-data:o.txt",
                "--param=--threshold:1",
                "--param=--x:1",
            ),
            "unknown parameter --x; web service 'svc' declares: --input-data, --output-data, --threshold, --sleep",
        ),
        (
            ("service", "run", "batch", "-n", "nosuch", "--param=--a:1"),
            "Failed.\nResponse code: 404\nWeb service 'nosuch' not found.",
        ),
        (
            ("service", "showjob", "batch", "-n", "svc", "-j", "nosuch"),
            "Failed.\nResponse code: 404\nJob 'nosuch' not found for web service 'svc'.",
        ),
        (
            ("service", "canceljob", "batch", "-n", "svc", "-j", "nosuch"),
            "Failed.\nResponse code: 404\nJob 'nosuch' not found for web service 'svc'.",
        ),
        (
            ("service", "listjobs", "batch", "-n", "nosuch"),
            "Failed.\nResponse code: 404\nWeb service 'nosuch' not found.",
        ),
        (
            ("service", "delete", "batch", "-n", "nosuch"),
            "Failed.\nResponse code: 404\nWeb service 'nosuch' not found.",
        ),
    ]
    for argv, message in checks:
        proc = cli_engine.az(*argv)
        assert (proc.returncode, proc.stdout) == (1, ""), (argv, proc.stdout, proc.stderr)
        assert message in proc.stderr, (argv, proc.stderr)
    ok = (
        *run,
        f"--in=--input-data:{data}",
        "--out=--output-data:o.txt",
        "--param=--threshold:1",
        "-j",
        "once",
    )
    cli_engine.az_ok(*ok)
    again = cli_engine.az(*ok)
    assert again.returncode == 1 and "Job 'once' already exists for web service 'svc'" in again.stderr
    wait_job(cli_engine, "svc", "once", lambda j: j["State"] == "Succeeded")
    ended = cli_engine.az("service", "canceljob", "batch", "-n", "svc", "-j", "once")
    assert (
        ended.returncode == 1 and "has already ended (Succeeded); there is nothing to cancel" in ended.stderr
    )
    usage = cli_engine.az("service", "showjob", "batch", "-n", "svc")
    assert usage.returncode == 2 and "the following arguments are required: -j" in usage.stderr


def test_commands_need_a_current_environment(cli_engine):
    proc = cli_engine.az("service", "list", "batch")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert (
        proc.stderr
        == "ERROR: {'Error': \"Error retrieving currently set environment. Please run 'az ml env set'\"}\n"
    )


def test_a_dask_scheduler_per_service_or_per_job_gives_the_same_bytes(cli_engine):
    """The service's Dask scheduler, or one given at `run`, instead of local worker processes: same output."""
    distributed = __import__("pytest").importorskip("distributed")
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 300)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    try:
        address = cluster.scheduler_address
        create_parallel(cli_engine, "local", data, "mini_batch_size:512", "process_count_per_node:2")
        create_parallel(cli_engine, "dask", data, "mini_batch_size:512", extra=("--dask-scheduler", address))
        outputs = {}
        for service, extra in (("local", ()), ("dask", ()), ("local", ("--dask-scheduler", address))):
            name = f"j{len(outputs)}"
            proc = cli_engine.az(
                "service", "run", "batch", "-n", service, "-j", name, "-w", *extra, timeout=180
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            shown = job(cli_engine, service, name)
            assert shown["Executor"] == (address if service == "dask" or extra else "local")
            outputs[name] = Path(shown["OutputPath"]).read_bytes()
        assert outputs["j0"] == outputs["j1"] == outputs["j2"] == expected(300).encode()
    finally:
        cluster.close()
