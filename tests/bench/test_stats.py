"""Percentile math: linear interpolation between closest ranks, as numpy's default."""

import pytest

from bench.stats import percentile, summary


def test_percentiles_interpolate_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 95) == pytest.approx(3.85)  # rank 2.85: 3 + 0.85 * (4 - 3)
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_fields():
    s = summary([0.1 * i for i in range(1, 101)])
    assert s["n"] == 100
    assert s["min"] == pytest.approx(0.1) and s["max"] == pytest.approx(10.0)
    assert s["p50"] == pytest.approx(5.05)
    assert s["p99"] == pytest.approx(9.901)
    assert summary([]) == {"n": 0}
