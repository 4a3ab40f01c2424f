"""Scenario (b): synthetic telco-churn-like tabular data (20 features) + pipeline builder.

Adapted from the measurement appendix of the peers reference (../shared/reference/peers.md) (same columns, same generator,
same ColumnTransformer one-hot + DecisionTree(max_depth=8) pipeline) so that figures are comparable.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

NUMERIC = ["tenure", "monthly_charges", "total_charges", "num_support_calls",
           "avg_call_minutes", "data_usage_gb", "senior_citizen", "num_lines"]
CATEGORICAL = {
    "gender": ["F", "M"],
    "partner": ["yes", "no"],
    "dependents": ["yes", "no"],
    "phone_service": ["yes", "no"],
    "multiple_lines": ["yes", "no", "no_phone"],
    "internet_service": ["dsl", "fiber", "none"],
    "online_security": ["yes", "no", "no_internet"],
    "tech_support": ["yes", "no", "no_internet"],
    "streaming_tv": ["yes", "no", "no_internet"],
    "contract": ["monthly", "one_year", "two_year"],
    "paperless_billing": ["yes", "no"],
    "payment_method": ["e_check", "mailed_check", "bank_transfer", "credit_card"],
}
COLUMNS = NUMERIC + list(CATEGORICAL)


def make_frame(n, seed=0):
    rng = np.random.default_rng(seed)
    d = {
        "tenure": rng.integers(0, 72, n),
        "monthly_charges": rng.uniform(18, 120, n).round(2),
        "num_support_calls": rng.poisson(1.5, n),
        "avg_call_minutes": rng.gamma(2.0, 3.0, n).round(2),
        "data_usage_gb": rng.gamma(2.0, 10.0, n).round(2),
        "senior_citizen": rng.integers(0, 2, n),
        "num_lines": rng.integers(1, 5, n),
    }
    d["total_charges"] = (d["tenure"] * d["monthly_charges"]).round(2)
    for c, levels in CATEGORICAL.items():
        d[c] = rng.choice(levels, n)
    df = pd.DataFrame(d)[COLUMNS]
    logit = (-1.0 - 0.04 * df.tenure + 0.02 * df.monthly_charges + 0.4 * df.num_support_calls
             + 1.2 * (df.contract == "monthly") + 0.6 * (df.internet_service == "fiber")
             - 0.5 * (df.tech_support == "yes") + 0.4 * (df.payment_method == "e_check"))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df, y


def build_model(n_train=7000, seed=0):
    X, y = make_frame(n_train, seed)
    pre = ColumnTransformer([
        ("num", "passthrough", NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
    ])
    model = Pipeline([("pre", pre), ("clf", DecisionTreeClassifier(max_depth=8, random_state=seed))])
    model.fit(X, y)
    return model


def rows(n, seed=123):
    """n request rows as plain Python values (JSON-serialisable)."""
    df, _ = make_frame(n, seed)
    return [[v.item() if hasattr(v, "item") else v for v in row] for row in df.astype(object).values.tolist()]
