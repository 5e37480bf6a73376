"""Correlation over languages with a bootstrap confidence interval, and a least-squares line.

Used by analyses (e.g. "does the typological distance of a language from English correlate with
its zero-shot drop?"), never by ``xharness list``: numpy and scipy are imported inside the
functions.

Definitions (``correlate``), for n paired observations (x_i, y_i), all finite:

* ``method="pearson"``: r = cov(x, y) / (sd(x) · sd(y)) = Σ(x_i − x̄)(y_i − ȳ) /
  √(Σ(x_i − x̄)² · Σ(y_i − ȳ)²), computed by ``scipy.stats.pearsonr``; p is its two-sided p-value
  (exact, from the t distribution with n − 2 degrees of freedom, which assumes bivariate normality).
* ``method="spearman"``: ρ = the Pearson r of the ranks, ties given their average rank
  (``scipy.stats.rankdata(method="average")``), computed by ``scipy.stats.spearmanr``; p is its
  two-sided p-value (t approximation with n − 2 degrees of freedom).
* Confidence interval: percentile bootstrap over pairs. A seeded ``numpy.random.default_rng(seed)``
  draws ``resamples`` index vectors of length n with replacement (one
  ``rng.integers(0, n, size=(resamples, n))`` call, so the draw depends only on seed, resamples
  and n); resample b keeps the pairs (x_i, y_i) together and gives r_b by the same definition as r
  (Spearman: the resample is re-ranked, average ties, then Pearson of the ranks). A resample in
  which x or y is constant has no r; it is dropped and counted in ``undefined_resamples``.
  With α = 1 − confidence, ci_low and ci_high are the α/2 and 1 − α/2 quantiles of the defined
  r_b (``numpy.quantile``, default linear interpolation).
* Undefined cases, never an exception or a warning: n < 3, or x or y constant over the whole
  sample → r, p, ci_low and ci_high are None and ``reason`` says why; every resample undefined →
  ci_low and ci_high None with a ``reason`` (r and p stay).

``fit_line``: the least-squares line y ≈ slope · x + intercept (``numpy.polyfit(x, y, 1)``), for
drawing on a scatter plot; it is descriptive, not a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

METHODS = ("pearson", "spearman")


def _pairs(x: Sequence[float], y: Sequence[float]):
    import numpy as np

    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or ya.ndim != 1:
        raise ValueError("x and y must be one-dimensional sequences of numbers")
    if len(xa) != len(ya):
        raise ValueError(f"x and y differ in length ({len(xa)} vs {len(ya)})")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite (drop missing languages before correlating)")
    return xa, ya


def _rows_r(xb, yb, method: str):
    """r of every row of the (B, n) arrays xb, yb by ``method``; rows must be non-constant."""
    from scipy import stats

    if method == "spearman":
        xb = stats.rankdata(xb, method="average", axis=1)
        yb = stats.rankdata(yb, method="average", axis=1)
    return stats.pearsonr(xb, yb, axis=1).statistic


def correlate(x: Sequence[float], y: Sequence[float], *, method: str = "pearson",
              resamples: int = 2000, seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Correlation of x and y (paired, e.g. one pair per language) with a bootstrap CI.

    Returns a dict with ``r``, ``p`` (two-sided, scipy's), ``n``, ``ci_low``, ``ci_high``,
    ``confidence``, ``method``, ``resamples``, ``seed``, ``undefined_resamples`` (resamples with
    constant x or y, dropped) and ``reason`` (None, or why r or the CI is undefined: see the
    module docstring for the exact definitions).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, not {resamples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence!r}")

    import numpy as np
    from scipy import stats

    xa, ya = _pairs(x, y)
    n = len(xa)
    out: dict[str, Any] = {"r": None, "p": None, "n": n, "ci_low": None, "ci_high": None,
                           "confidence": confidence, "method": method, "resamples": resamples,
                           "seed": seed, "undefined_resamples": None, "reason": None}
    if n < 3:
        out["reason"] = f"n = {n} < 3 pairs: no correlation or interval"
        return out
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        out["reason"] = "x or y is constant: the correlation is undefined"
        return out

    res = stats.pearsonr(xa, ya) if method == "pearson" else stats.spearmanr(xa, ya)
    out["r"] = float(res.statistic)
    out["p"] = float(res.pvalue)

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    xb, yb = xa[idx], ya[idx]
    defined = (np.ptp(xb, axis=1) > 0) & (np.ptp(yb, axis=1) > 0)
    out["undefined_resamples"] = int(resamples - defined.sum())
    if not defined.any():
        out["reason"] = "every bootstrap resample has constant x or y: no interval"
        return out
    rb = np.asarray(_rows_r(xb[defined], yb[defined], method), dtype=float)
    alpha = 1.0 - confidence
    out["ci_low"] = float(np.quantile(rb, alpha / 2))
    out["ci_high"] = float(np.quantile(rb, 1 - alpha / 2))
    return out


def fit_line(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line y ≈ slope · x + intercept (``numpy.polyfit``)."""
    import numpy as np

    xa, ya = _pairs(x, y)
    if len(xa) < 2 or np.ptp(xa) == 0:
        raise ValueError("a line needs at least two distinct x values")
    slope, intercept = np.polyfit(xa, ya, 1)
    return float(slope), float(intercept)
