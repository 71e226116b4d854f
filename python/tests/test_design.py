"""synthgmm.design: labeling probabilities, the seeded draw, and a fit on the labels it
draws with those probabilities (weighted least squares, checked against statsmodels)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import synthgmm


def _frame(seed=0, t=3000, pilot=60):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=t)
    y = 1 + x + (0.5 + np.abs(x)) * rng.normal(size=t)
    proxy = y + np.where(x < 0, 0.2, 2.0) * rng.normal(size=t)
    labeled = np.zeros(t, dtype=bool)
    labeled[rng.choice(t, pilot, replace=False)] = True
    return pd.DataFrame({"y": y, "x": x, "proxy": proxy, "labeled": labeled})


@pytest.mark.parametrize("kind", ["uniform", "stratified", "active"])
def test_probabilities_sum_to_the_budget_and_the_draw_is_reproducible(kind):
    df = _frame()
    d = synthgmm.design(df, y="y", x=["x"], labeled="labeled", sources={"llm": "proxy"},
                        budget=200, design=kind)
    assert d.phase_two.sum() == pytest.approx(200, abs=1e-8)
    assert np.all(d.phase_two[df["labeled"].to_numpy()] == 0)
    assert np.all((d.probabilities > 0) & (d.probabilities <= 1))
    rows = d.draw(seed=5)
    assert len(rows) == 200
    assert np.array_equal(rows, d.draw(seed=5))
    assert not df["labeled"].to_numpy()[rows].any()
    se, uniform = d.se(), d.uniform_se()
    assert list(se.index) == ["Intercept", "x"]
    assert np.all(se > 0) and np.all(uniform > 0)


def test_the_fit_on_the_drawn_labels_is_weighted_least_squares_without_sources():
    df = _frame(seed=1)
    d = synthgmm.design(df, y="y", x=["x"], labeled="labeled", sources={"llm": "proxy"},
                        budget=300, coefficient="x")
    labeled = df["labeled"].to_numpy().copy()
    labeled[d.draw(seed=2)] = True
    df = df.assign(labeled=labeled, pi=d.probabilities)
    res = synthgmm.fit(df, y="y", x=["x"], labeled="labeled", sources={},
                       labeling_probabilities="pi")
    rows = df[df["labeled"]]
    wls = sm.WLS(rows["y"], sm.add_constant(rows["x"]), weights=1 / rows["pi"]).fit()
    np.testing.assert_allclose(np.asarray(res.params), wls.params.to_numpy(), rtol=1e-10)


def test_without_a_pilot_only_uniform_and_given_strata_apply():
    df = _frame().assign(labeled=False)
    strata = np.where(df["x"] > 0, "high", "low")
    d = synthgmm.design(df.assign(s=strata), y="y", x=["x"], labeled="labeled",
                        sources={"llm": "proxy"}, budget=100, design="stratified", strata="s")
    np.testing.assert_allclose(d.probabilities, 100 / len(df))
    assert d.se() is None
    with pytest.raises(synthgmm.InvalidConfigError):
        synthgmm.design(df, y="y", x=["x"], labeled="labeled", sources={"llm": "proxy"},
                        budget=100, design="active")
    with pytest.raises(ValueError):
        synthgmm.design(df, y="y", x=["x"], labeled="labeled", sources={"llm": "proxy"},
                        budget=100, design="clever")
