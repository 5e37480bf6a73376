"""harness.analysis.stats: correlation with a percentile bootstrap interval, and the least-squares line."""

import math
import warnings

import pytest

from harness.analysis.stats import correlate, fit_line

X = [1, 2, 3, 4, 5]
Y = [2, 4, 5, 4, 5]


def _pearson_by_hand(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_pearson_hand_worked():
    # x̄ = 3, ȳ = 4; Σdxdy = 4+0+0+0+2 = 6, Σdx² = 10, Σdy² = 4+0+1+0+1 = 6: r = 6/√60
    assert _pearson_by_hand(X, Y) == pytest.approx(6 / math.sqrt(60), abs=1e-15)
    res = correlate(X, Y, method="pearson")
    assert res["r"] == pytest.approx(6 / math.sqrt(60), abs=1e-12)
    assert res["n"] == 5 and res["method"] == "pearson" and res["resamples"] == 2000
    assert 0 < res["p"] < 1 and res["reason"] is None
    assert res["ci_low"] <= res["r"] <= res["ci_high"]


def test_spearman_hand_worked_with_average_ties():
    # ranks of x: 1..5; of y = [2,4,5,4,5]: 2→1, the two 4s share ranks 2,3 → 2.5, the two 5s
    # share 4,5 → 4.5. Pearson of the ranks: Σdxdy = 4+0.5+0−0.5+3 = 7, Σdx² = 10, Σdy² = 9
    ry = [1, 2.5, 4.5, 2.5, 4.5]
    assert _pearson_by_hand([1, 2, 3, 4, 5], ry) == pytest.approx(7 / math.sqrt(90), abs=1e-15)
    res = correlate(X, Y, method="spearman")
    assert res["r"] == pytest.approx(7 / math.sqrt(90), abs=1e-12)


def test_perfect_monotone():
    x = [0.1, 0.5, 0.7, 2.0, 3.0, 10.0]
    y = [v ** 3 for v in x]  # monotone, not linear
    res = correlate(x, y, method="spearman")
    assert res["r"] == pytest.approx(1, abs=1e-12)
    assert res["ci_low"] == pytest.approx(1, abs=1e-12)
    assert res["ci_high"] == pytest.approx(1, abs=1e-12)
    assert res["undefined_resamples"] >= 0
    assert correlate(x, y, method="pearson")["r"] < 1 - 1e-3


def test_constant_and_short_inputs_are_reported_not_raised():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scipy ConstantInputWarning either
        for method in ("pearson", "spearman"):
            res = correlate([1, 2, 3, 4], [7, 7, 7, 7], method=method)
            assert res["r"] is None and res["p"] is None
            assert res["ci_low"] is None and res["ci_high"] is None
            assert "constant" in res["reason"]
            short = correlate([1, 2], [3, 4], method=method)
            assert short["r"] is None and short["ci_low"] is None and "n = 2" in short["reason"]
        # n = 3: many resamples repeat one pair (constant x): dropped and counted
        res = correlate([1, 2, 3], [1, 3, 2], method="pearson", resamples=500)
        assert res["undefined_resamples"] > 0
        assert res["ci_low"] is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match="length"):
        correlate([1, 2, 3], [1, 2], method="pearson")
    with pytest.raises(ValueError, match="finite"):
        correlate([1, 2, float("nan")], [1, 2, 3], method="pearson")
    with pytest.raises(ValueError, match="method"):
        correlate([1, 2, 3], [1, 2, 3], method="kendall")


def _sample(n=30, noise=0.5, seed=3):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return list(x), list(x + noise * rng.normal(size=n))


def test_seeded_reproducibility():
    x, y = _sample()
    for method in ("pearson", "spearman"):
        a = correlate(x, y, method=method, seed=7, resamples=500)
        b = correlate(x, y, method=method, seed=7, resamples=500)
        c = correlate(x, y, method=method, seed=8, resamples=500)
        assert a == b
        assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])
        assert a["r"] == c["r"]


def test_bootstrap_resample_matches_scipy():
    # the vectorised resample statistic is scipy's, resample by resample
    import numpy as np
    from scipy import stats

    from harness.analysis.stats import _rows_r

    x, y = _sample(n=12)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 12, size=(5, 12))
    xb, yb = np.asarray(x)[idx], np.asarray(y)[idx]
    rs = _rows_r(xb, yb, "spearman")
    for b in range(5):
        assert rs[b] == pytest.approx(stats.spearmanr(xb[b], yb[b]).statistic, abs=1e-12)


def test_strong_correlation_interval_excludes_zero():
    x, y = _sample(n=40, noise=0.3)
    for method in ("pearson", "spearman"):
        res = correlate(x, y, method=method, confidence=0.95)
        assert res["r"] > 0.8 and res["p"] < 1e-6
        assert 0 < res["ci_low"] <= res["r"] <= res["ci_high"] <= 1
        wider = correlate(x, y, method=method, confidence=0.99)
        assert wider["ci_low"] <= res["ci_low"] and wider["ci_high"] >= res["ci_high"]


def test_fit_line():
    slope, intercept = fit_line([0, 1, 2, 3], [1, 3, 5, 7])
    assert slope == pytest.approx(2) and intercept == pytest.approx(1)
    # least squares through (1,2),(2,4),(3,5): slope = Σdxdy/Σdx² = (−1·−5/3 + 0 + 1·4/3)/2 = 1.5
    slope, intercept = fit_line([1, 2, 3], [2, 4, 5])
    assert slope == pytest.approx(1.5) and intercept == pytest.approx(11 / 3 - 3)
    with pytest.raises(ValueError):
        fit_line([1, 1, 1], [1, 2, 3])
