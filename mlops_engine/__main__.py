"""`python -m mlops_engine ml ...` (the az ml CLI) and `python -m mlops_engine daemon start|stop|status`."""

from __future__ import annotations

import sys


def _main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "ml":
        from mlops_engine.cli.main import main

        return main(args[1:])
    if args and args[0] == "daemon":
        from mlops_engine.cli.daemonctl import main as daemon_main

        return daemon_main(args[1:])
    sys.stderr.write("usage: python -m mlops_engine ml <az ml command ...> | daemon start|stop|status\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(_main())
