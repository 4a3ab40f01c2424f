"""Load and encode the telco churn table exactly as the lab's training script does.

The lab (``CATelcoCustomerChurnModelingWithoutDprep.py``, see churn-lab.md §1.3) fills NA with 0, drops duplicate
rows, drops ``year`` and ``month`` and one-hot encodes every text column with ``pd.get_dummies``: dummies are named
``<column>_<value>``, the raw column disappears and the dummy block is appended at the right.  ``customerid`` and
``callingnum`` stay in as numeric features.  The result is 16 numeric features, ``churn`` and 70 dummies; this module
returns the 86 features (cast to float) and the target separately.

Only training, the schema generator and the tests use this module.  ``score.py`` deliberately does not import it: it is
shipped alone next to ``model.pkl`` and re-implements the encoding with plain Python from the levels stored in the
artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

CSV_NAME: Final = "CATelcoCustomerChurnTrainingSample.csv"
DEFAULT_CSV: Final = Path(__file__).resolve().parent / CSV_NAME
TARGET: Final = "churn"
DROPPED: Final = ("year", "month")
GROUP: Final = "customerid"


@dataclass(frozen=True)
class Encoded:
    """The lab's design matrix plus what scoring needs to rebuild it row by row."""

    features: pd.DataFrame  # float64, 86 columns in training order
    target: pd.Series  # int64 0/1
    groups: pd.Series  # customerid per row, for the grouped (honest) split
    numeric: list[str]  # the numeric feature columns, in CSV order (they come first)
    categories: dict[str, list[str]]  # categorical column -> sorted levels seen in training (dummy order)

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.features.columns]


def read_raw(path: str | Path = DEFAULT_CSV) -> pd.DataFrame:
    """Read the CSV with pandas' default type inference (as the lab did)."""
    return pd.read_csv(path)


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Text columns, in frame order.

    The lab used ``select_dtypes(include=['category', 'object'])``; pandas 3 reads text as ``str`` (which that call
    would stop selecting in pandas 4) and pandas 2 rejects ``'str'`` there, so "not numeric" is the portable spelling.
    """
    return [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def clean(raw: pd.DataFrame, dedupe: bool = True) -> pd.DataFrame:
    """The lab's cleaning: fill NA with 0, drop duplicate rows, drop year and month (no-ops except the drop here)."""
    frame = raw.fillna(0)
    if dedupe:
        frame = frame.drop_duplicates()
    return frame.drop(columns=[c for c in DROPPED if c in frame.columns])


def encode(raw: pd.DataFrame, categories: dict[str, list[str]] | None = None) -> Encoded:
    """Clean and one-hot encode ``raw``; with ``categories`` given, reuse training levels (for scoring checks).

    With ``categories`` the dummy block is forced to the training columns: unseen values give all-zero dummies and
    missing levels give zero columns, which is what ``score.py`` does row by row.
    """
    frame = clean(raw, dedupe=categories is None)  # scoring keeps every row, duplicates included
    if categories is None:
        categories = {c: sorted(str(v) for v in frame[c].unique()) for c in categorical_columns(frame)}
    cats = list(categories)
    encoded = pd.get_dummies(frame, columns=cats, prefix_sep="_")
    numeric = [str(c) for c in frame.columns if c not in cats and c != TARGET]
    dummies = [f"{c}_{level}" for c in cats for level in categories[c]]
    features = encoded.reindex(columns=numeric + dummies, fill_value=0).astype("float64")
    target = frame[TARGET].astype("int64") if TARGET in frame.columns else pd.Series(dtype="int64")
    return Encoded(features, target, frame[GROUP], numeric, categories)
