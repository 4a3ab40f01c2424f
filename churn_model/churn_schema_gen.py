"""Lab entry point: ``python churn_schema_gen.py`` writes ``./service_schema.json`` and prints "Schema generated".

The example row is the first row of the CSV next to this file, as in the lab.  Unlike the legacy script it needs
no ``model.pkl`` (the legacy one smoke-tested ``run()`` first; ``python score.py`` does that here).  Format and
deliberate corrections: see ``churn_model.schema``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    from churn_model.schema import main
except ModuleNotFoundError as exc:  # run from inside churn_model/ without the project installed
    if exc.name != "churn_model":
        raise
    sys.path.insert(0, str(HERE.parent))
    from churn_model.schema import main

if __name__ == "__main__":
    raise SystemExit(main(["--data", str(HERE / "CATelcoCustomerChurnTrainingSample.csv"), *sys.argv[1:]]))
