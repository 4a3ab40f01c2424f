"""The legacy contract: ``main.py <Id> <value> ...``, dependencies on the path, a driver log, real states."""

from __future__ import annotations

import json
import threading

import pytest

from mlops_engine.batch import (
    BatchConfigError,
    BatchInputError,
    BatchJob,
    DriverParameter,
    JobState,
    LegacyDriverSpec,
    LegacyJobSpec,
)

from .conftest import alive, wait_until, write_script

DRIVER = """
    import json, sys
    import utils  # a -d dependency, importable because .py dependencies are on the driver's path

    print("driver argv", json.dumps(sys.argv[1:]))
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    src = args["--input-data"].removeprefix("file://")
    with open(src) as fh, open(args["--output-data"], "w") as out:
        out.write(utils.shout(fh.read()) + args["--threshold"])
    open("lookup.csv").read()  # a non-.py dependency sits in the working directory
"""


def _spec(tmp_path, body=DRIVER):
    driver = write_script(tmp_path, body, "food_driver.py")
    write_script(tmp_path, "def shout(s):\n    return s.upper()\n", "utils.py")
    (tmp_path / "lookup.csv").write_text("a,b\n")
    params = (
        DriverParameter.parse("--input-data", "Reference", "Input"),
        DriverParameter.parse("--output-data", "Reference", "Output"),
        DriverParameter.parse("--threshold:0.5", "Value", "Input"),
    )
    return LegacyDriverSpec(str(driver), params, (str(tmp_path / "utils.py"), str(tmp_path / "lookup.csv")))


def test_parameter_syntax_splits_at_the_first_colon():
    p = DriverParameter.parse("--in:wasbs://c@a.blob.core.windows.net/x.csv", "Reference", "Input")
    assert (p.id, p.default) == ("--in", "wasbs://c@a.blob.core.windows.net/x.csv")
    assert DriverParameter.parse("--max-rows", "Value", "Input").default is None
    with pytest.raises(BatchConfigError, match="has no name"):
        DriverParameter.parse(":x", "Value", "Input")


def test_driver_runs_with_id_value_pairs_in_declaration_order(tmp_path):
    src = tmp_path / "data.txt"
    src.write_text("hello")
    values = (("--output-data", str(tmp_path / "out" / "result.txt")), ("--input-data", src.as_uri()))
    job = BatchJob("ljob1", tmp_path / "job", LegacyJobSpec(_spec(tmp_path), values))
    result = job.run()
    assert result.state == JobState.SUCCEEDED, (job.job_dir / "logs" / "driver.log").read_text()
    assert (tmp_path / "out" / "result.txt").read_text() == "HELLO0.5"
    log = (job.job_dir / "logs" / "driver.log").read_text()
    argv = json.loads(log.split("driver argv ", 1)[1].splitlines()[0])
    assert argv == [
        "--input-data",
        src.as_uri(),
        "--output-data",
        str(tmp_path / "out" / "result.txt"),
        "--threshold",
        "0.5",
    ]
    assert job.record.log_path == str(job.job_dir / "logs" / "driver.log")
    assert (job.job_dir / "app" / "main.py").exists()


def test_failing_driver_is_failed_with_the_log_tail(tmp_path):
    spec = LegacyDriverSpec(
        str(write_script(tmp_path, "print('starting')\nraise SystemExit('bad input data')\n"))
    )
    result = BatchJob("j", tmp_path / "job", LegacyJobSpec(spec)).run()
    assert result.state == JobState.FAILED and result.message == "driver exited with code 1"
    assert "starting" in result.first_error and "bad input data" in result.first_error


def test_cancel_kills_the_driver_and_its_children(tmp_path):
    body = """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open("pids", "w").write(f"{os.getpid()} {child.pid}")
        time.sleep(600)
    """
    job = BatchJob("j", tmp_path / "job", LegacyJobSpec(LegacyDriverSpec(str(write_script(tmp_path, body)))))
    thread = threading.Thread(target=job.run)
    thread.start()
    pids_file = job.job_dir / "app" / "pids"
    wait_until(lambda: pids_file.exists() and pids_file.read_text().count(" ") == 1)
    job.cancel()
    thread.join(30)
    assert job.record.state == JobState.CANCELLED
    for pid in map(int, pids_file.read_text().split()):
        wait_until(lambda pid=pid: not alive(pid), timeout=10)


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        (
            (("--nope", "1"),),
            BatchConfigError,
            "unknown parameter --nope; the service declares: --input-data",
        ),
        ((), BatchConfigError, "no value for parameter --input-data, --output-data"),
        (
            (("--input-data", "missing.txt"), ("--output-data", "o")),
            BatchInputError,
            "missing.txt does not exist",
        ),
    ],
)
def test_bad_values_are_clear_errors(tmp_path, values, error, message):
    with pytest.raises(error, match=message):
        BatchJob("j", tmp_path / "job", LegacyJobSpec(_spec(tmp_path), values))


def test_missing_driver_or_dependency(tmp_path):
    with pytest.raises(BatchInputError, match="driver .* does not exist"):
        BatchJob("j", tmp_path / "job", LegacyJobSpec(LegacyDriverSpec(str(tmp_path / "none.py"))))
    driver = write_script(tmp_path, "pass\n")
    with pytest.raises(BatchInputError, match="dependency .* does not exist"):
        BatchJob(
            "j", tmp_path / "job", LegacyJobSpec(LegacyDriverSpec(str(driver), (), (str(tmp_path / "x.py"),)))
        )
