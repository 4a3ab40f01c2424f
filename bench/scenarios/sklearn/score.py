"""Scenario (b): Azure ML style entry script, identical file for azmlinfsrv and our replicas.

init() loads model.pkl (the peers.md appendix pipeline, pickled by bench/serving.py next to this file;
falls back to training it if the pickle is absent); run(raw_data) parses {"data": [[...20 values...], ...]},
builds a DataFrame and returns {"predictions": [...]}.
"""
import json
import os
import pickle
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from churn_data import COLUMNS, build_model  # noqa: E402

model = None


def init():
    global model
    path = os.path.join(HERE, "model.pkl")
    if os.path.exists(path):
        with open(path, "rb") as f:
            model = pickle.load(f)
    else:
        model = build_model()


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return {"predictions": model.predict(frame).tolist()}
