"""Batch scoring benchmark (issue 9, Performance): the churn CSV repeated to 1,000,000 rows.

Measured in one run, interleaved (each round runs every configuration once, so load changes hit all alike):
  * baseline: one fresh process doing pandas.read_csv + the model's predict (score.predict_frame, the same
    function the batch entry script calls) + writing the labels as CSV -- the limit for one core;
  * the same, chunked: read_csv(chunksize=rows of a 1MB mini-batch) + predict + append, still one process (the
    fair single-core limit: whole-file pandas pays for 1M-row temporaries that mini-batches never build);
  * the local executor with 1 and with 2 worker processes (process_count_per_node), default mini_batch_size 1MB;
  * the Dask executor on a LocalCluster of 2 worker processes (1 thread each, 127.0.0.1), started beforehand;
  * submit -> first mini-batch running: from BatchJob construction (validation + planning the 1M-row input
    included) to the first run() call (the entry script records time.time() on entry), local and Dask; each such
    job is cancelled once its first mini-batch runs.
Wall times cover the whole job (plan, worker start-up and init(), scoring, ordered output, close).  All outputs
are checked byte-identical and 1,000,000 lines long.  "cpu s" is the CPU time the configuration used (engine
plus its reaped worker processes; for Dask only the client side); cpu/wall near the process count means the
processes got their cores, well below it means they waited for CPU (other load on the machine).  Prints medians, rows/s and ratios to the baseline, with
`uptime` before and after (the machine is shared: read the ratios).

Run: .venv/bin/python bench/batch.py [--rows 1000000] [--rounds 3] [--latency-runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlops_engine.batch import BatchJob, ExecutorSpec, JobState, ParallelJobSpec, settings_from_params

CSV = ROOT / "churn_model" / "CATelcoCustomerChurnTrainingSample.csv"

BASELINE = """
import sys, time
t0 = time.perf_counter()
import pandas as pd
sys.path.insert(0, sys.argv[1])
import score
score.init()
if len(sys.argv) > 4:  # chunked: the same work in mini-batch-sized pieces, still one process
    with open(sys.argv[3], "w") as out:
        for frame in pd.read_csv(sys.argv[2], chunksize=int(sys.argv[4])):
            pd.Series(score.predict_frame(frame)).to_csv(out, index=False, header=False)
else:
    frame = pd.read_csv(sys.argv[2])
    labels = score.predict_frame(frame)
    pd.Series(labels).to_csv(sys.argv[3], index=False, header=False)
print(time.perf_counter() - t0)
"""

LATENCY_SCRIPT = """
import os, time
from pathlib import Path
first = None
def run(mini_batch):
    global first
    if first is None:
        first = time.time()
        Path(os.environ["AZUREML_BI_OUTPUT_PATH"], f"first-{os.getpid()}").write_text(repr(first))
    return list(mini_batch.iloc[:, 0])
"""


def build_inputs(work: Path, rows: int) -> tuple[Path, Path]:
    from churn_model import train

    src = work / "src"
    src.mkdir()
    result = train.train("naive_bayes", outputs=work / "model", echo=lambda _: None)
    shutil.copyfile(result.model_path, src / "model.pkl")
    for name in ("batch_score.py", "score.py"):
        shutil.copyfile(ROOT / "churn_model" / name, src / name)
    header, *body = CSV.read_text().splitlines()
    big = work / "churn_1m.csv"
    with big.open("w") as fh:
        fh.write(header + "\n")
        written = 0
        while written < rows:
            chunk = body[: rows - written]
            fh.write("\n".join(chunk) + "\n")
            written += len(chunk)
    return src, big


def run_job(
    src: Path, data: Path, out: Path, params: list[str], executor: ExecutorSpec
) -> tuple[float, bytes]:
    spec = ParallelJobSpec(
        str(src / "batch_score.py"), (str(data),), str(out), settings_from_params(params), executor=executor
    )
    t0 = time.perf_counter()
    result = BatchJob(out.name, out.with_name(out.name + "-job"), spec).run()
    seconds = time.perf_counter() - t0
    assert result.state == JobState.SUCCEEDED, result.first_error
    output = Path(result.output_path or "").read_bytes()
    shutil.rmtree(out)
    shutil.rmtree(out.with_name(out.name + "-job"))
    return seconds, output


def baseline(src: Path, data: Path, work: Path, chunk_rows: int = 0) -> tuple[float, bytes]:
    out = work / "baseline.csv"
    argv = [sys.executable, "-c", BASELINE, str(src), str(data), str(out)] + (
        [str(chunk_rows)] if chunk_rows else []
    )
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    data_out = out.read_bytes()
    out.unlink()
    return seconds, data_out


def latency(work: Path, data: Path, executor: ExecutorSpec, runs: int) -> list[float]:
    """Submit a job over the 1M-row input, wait for its first run() call, then cancel it."""
    script = work / "latency.py"
    script.write_text(textwrap.dedent(LATENCY_SCRIPT))
    values = []
    for i in range(runs):
        out = work / f"lat-{executor.kind}-{i}"
        settings = settings_from_params(["process_count_per_node=2"])
        spec = ParallelJobSpec(str(script), (str(data),), str(out), settings, executor=executor)
        submitted = time.time()
        job = BatchJob(out.name, work / f"{out.name}-job", spec)
        job.start()
        deadline = time.monotonic() + 60
        while not list(out.glob("first-*")) and time.monotonic() < deadline:
            time.sleep(0.005)
        job.cancel()
        job.wait(60)
        values.append(min(float(p.read_text()) for p in out.glob("first-*")) - submitted)
    return values


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (worker processes are reaped at job end; the Dask
    cluster's processes are not, so the Dask figure counts only the client side)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def uptime() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=5)
    args = parser.parse_args()
    from distributed import LocalCluster

    print(f"before: {uptime()}  (cpus: {os.cpu_count()})")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-batch-") as tmp:
        work = Path(tmp)
        src, data = build_inputs(work, args.rows)
        # the chunked baseline reads as many rows at a time as a 1MB mini-batch holds
        chunk_rows = int(args.rows * 1024 * 1024 / data.stat().st_size)
        print(
            f"input: {args.rows:,} rows, {data.stat().st_size / 1e6:.1f} MB; chunked baseline: {chunk_rows} rows/chunk"
        )
        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        print(f"dask LocalCluster(2 processes) start: {time.perf_counter() - t0:.2f} s")
        dask = ExecutorSpec("dask", cluster.scheduler_address)
        configs = {
            "baseline (1 process)": lambda: baseline(src, data, work),
            "baseline, chunked": lambda: baseline(src, data, work, chunk_rows),
            "local, 1 process": lambda: run_job(
                src, data, work / "l1", ["process_count_per_node=1"], ExecutorSpec()
            ),
            "local, 2 processes": lambda: run_job(
                src, data, work / "l2", ["process_count_per_node=2"], ExecutorSpec()
            ),
            "dask, 2 workers": lambda: run_job(src, data, work / "d2", [], dask),
        }
        times: dict[str, list[float]] = {name: [] for name in configs}
        cpu: dict[str, list[float]] = {name: [] for name in configs}
        reference: bytes | None = None
        try:
            for r in range(args.rounds):
                for name, fn in configs.items():
                    before = cpu_seconds()
                    seconds, output = fn()
                    times[name].append(seconds)
                    cpu[name].append(cpu_seconds() - before)
                    assert output.count(b"\n") == args.rows, name
                    reference = reference or output
                    assert output == reference, f"{name}: output differs"
                print(f"round {r + 1}: " + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()))
            lat_local = latency(work, data, ExecutorSpec(), args.latency_runs)
            lat_dask = latency(work, data, dask, args.latency_runs)
        finally:
            cluster.close()
    base = statistics.median(times["baseline (1 process)"])
    chunked = statistics.median(times["baseline, chunked"])
    print(
        f"\n{'configuration':24} {'median s':>9} {'rows/s':>10} {'vs baseline':>12} {'vs chunked':>11}"
        f" {'cpu s':>7} {'cpu/wall':>9}"
    )
    for name, values in times.items():
        med = statistics.median(values)
        used = statistics.median(cpu[name])
        print(
            f"{name:24} {med:9.2f} {args.rows / med:10,.0f} {base / med:11.2f}x {chunked / med:10.2f}x"
            f" {used:7.2f} {used / med:9.2f}"
        )
    print(
        f"\nsubmit -> first mini-batch running, local: median {statistics.median(lat_local):.2f} s "
        f"(runs: {', '.join(f'{v:.2f}' for v in lat_local)})"
    )
    print(
        f"submit -> first mini-batch running, dask:  median {statistics.median(lat_dask):.2f} s "
        f"(runs: {', '.join(f'{v:.2f}' for v in lat_dask)})"
    )
    print("outputs byte-identical across all configurations and rounds: yes")
    print(f"after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
