"""mlops: deploy the churn scoring service with recipes. See `python mlops.py --help`."""

from __future__ import annotations

import sys

from orchestrator.cli import main

if __name__ == "__main__":
    sys.exit(main())
