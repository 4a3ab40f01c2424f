"""`python -m mlops_engine.serving.replica`: only starts the replica (conventions 1)."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
