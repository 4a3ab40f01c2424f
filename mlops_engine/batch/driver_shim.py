"""Runs a legacy batch driver exactly as ``python main.py <args>`` would, and ends it when its engine dies.

Started by path (``python driver_shim.py <engine pid> main.py <args>``), so nothing of mlops is imported into the
driver's interpreter.  The driver runs in its own session (process group); a watchdog thread kills that whole
group when the engine that started it is gone, so a driver never outlives the daemon (the job is then failed
at the next start: a driver cannot be resumed).
"""

import os
import runpy
import signal
import sys
import threading
import time


def _watch(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)


def main() -> None:
    parent, script, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if os.getppid() != parent:  # the engine died before we got here
        os.killpg(0, signal.SIGKILL)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
