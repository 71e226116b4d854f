"""Shared fixtures: the crate's reference data sets (tests/data at the repository root)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"

SOURCES = {
    "proxy": ("proxy_y", ["proxy_x0", "proxy_x1", "proxy_x2"]),
    "synth": ("synth_y", ["synth_x0", "synth_x1", "synth_x2"]),
}
X = ["x0", "x1", "x2"]


def load(name):
    """The reference data set and its independently computed expected values."""
    frame = pd.read_csv(DATA / f"{name}.csv")
    expected = json.loads((DATA / f"{name}.expected.json").read_text())
    return frame, expected


def split(frame, y="y", yhat="proxy_y", x=X):
    """ppi_py's layout: labeled (X, Y, Yhat) and unlabeled (X_u, Yhat_u)."""
    lab = frame["labeled"].to_numpy() == 1
    xs = frame[x].to_numpy()
    return (xs[lab], frame[y].to_numpy()[lab], frame[yhat].to_numpy()[lab],
            xs[~lab], frame[yhat].to_numpy()[~lab])


@pytest.fixture
def simulated():
    """A small OLS design with a proxy and a synthetic source, T = 1,200, n = 150."""
    rng = np.random.default_rng(20251126)
    t = 1200
    x = rng.normal(size=(t, 2))
    e = rng.normal(size=t) * np.sqrt(1 + x[:, 0] ** 2)
    y = 0.5 + x @ np.array([1.0, -0.5]) + e
    labeled = np.zeros(t, dtype=bool)
    labeled[rng.choice(t, 150, replace=False)] = True
    proxy = 0.3 + x @ np.array([0.8, -0.4]) + 0.7 * e + 0.5 * rng.normal(size=t)
    xs = x + 0.3 * rng.normal(size=(t, 2))
    synth = 0.2 + xs @ np.array([0.9, -0.3]) + 0.5 * e + 0.8 * rng.normal(size=t)
    return pd.DataFrame({
        "y": np.where(labeled, y, np.nan), "x1": x[:, 0], "x2": x[:, 1],
        "is_labeled": labeled, "proxy": proxy, "synth": synth,
        "sx1": xs[:, 0], "sx2": xs[:, 1],
        "cluster": [f"g{i % 97}" for i in range(t)],
        "w": 0.5 + rng.uniform(size=t),
    })
