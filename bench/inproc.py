"""In-process cost of one request on our replica's hot path, without HTTP (diagnostic for bench/RESULTS.md).

    .venv/bin/python bench/inproc.py BUNDLE_DIR BODY_1ROW.json BODY_100ROW.json

Times, median of N calls: the replica's App.handle() (schema conversion + run() + JSON encoding, exactly what a
replica does per request minus the socket work), and run() alone with the raw body string.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlops_engine.serving.replica.app import App  # noqa: E402
from mlops_engine.serving.replica.bundle import load_bundle  # noqa: E402


def timeit(fn, n=2000):
    for _ in range(100):
        fn()
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    t.sort()
    return statistics.median(t), t[int(0.99 * len(t))]


def main():
    bundle = Path(sys.argv[1]).resolve()
    bodies = [Path(p).resolve().read_bytes() for p in sys.argv[2:]]
    cwd = os.getcwd()
    b = load_bundle(bundle)
    os.chdir(cwd)
    app = App(b.run, b.schema, b.records, "bench", "local", None)
    for body in bodies:
        r = app.handle(b"POST", b"/score", None, body)
        assert r.status == 200, r.body[:300]
        m, p = timeit(lambda: app.handle(b"POST", b"/score", None, body))
        line = f"{len(body):>6} B body: App.handle {m:.3f} ms (p99 {p:.3f})"
        if b.schema is not None:
            conv = app._converter
            m2, _ = timeit(lambda: conv.convert(body))
            kw = conv.convert(body)
            m3, _ = timeit(lambda: b.run(**kw))
            line += f" = schema convert {m2:.3f} + run() {m3:.3f} + encode"
        text = body.decode()
        try:
            m4, _ = timeit(lambda: b.run(text))
            line += f"; run(raw str) alone {m4:.3f} ms"
        except Exception as e:  # noqa: BLE001
            line += f"; run(raw str) not supported: {type(e).__name__}"
        print(line)


main()
