"""Benchmark 6's reading of a replica timeline, and its report section, on sample series."""

from bench.autoscale import DRIVEN_SCALING, TO_ZERO_SCALING, timeline
from bench.markdown import autoscaling, autoscaling_line
from bench.stats import summary


def samples(counts: list[int], name: str = "d", period_s: float = 1.0) -> list[dict]:
    return [{"t": i * period_s, "replicas": {name: n}} for i, n in enumerate(counts)]


def test_scale_up_and_down_are_read_from_the_load_window():
    # load from t=2 to t=8: up at t=4, peak 4 at t=6; back to 1 at t=11
    series = samples([1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 2, 1, 1])
    series.insert(5, {"t": 4.5, "replicas": {"error": "status call failed"}})  # a gap, not a crash
    got = timeline(series, "d", load_start=2.0, load_end=8.0)
    assert got == {
        "replicas_before": 1,
        "replicas_peak": 4,
        "first_scale_up_s": 2.0,
        "to_peak_s": 4.0,
        "back_to_before_s": 3.0,
    }


def test_a_deployment_that_never_scaled_reports_no_latencies():
    got = timeline(samples([1] * 10), "d", load_start=2.0, load_end=8.0)
    assert got["replicas_peak"] == 1 and got["first_scale_up_s"] is None and got["back_to_before_s"] is None


def test_the_report_says_what_scaled_and_what_a_cold_start_cost():
    result = {
        "driven": {"deployment": "expert:sd", "autoscaling_config": DRIVEN_SCALING, "latency_s": 0.5},
        "to_zero": {"deployment": "expert:t5", "autoscaling_config": TO_ZERO_SCALING},
        "load": {
            "concurrency": 16,
            "seconds": 40.0,
            "requests_per_s": 20.0,
            "latency_s": summary([0.6]),
            "errors": 0,
        },
        "scaling": timeline(samples([1, 1, 2, 4, 4, 1]), "d", 1.0, 4.0),
        "cold_start": {"cold_call_s": 6.2, "warm_call_s": summary([0.2, 0.2]), "cold_start_cost_s": 6.0},
    }
    line = autoscaling_line(result)
    assert "1 -> 4 replicas" in line and "cold call 6.2 s" in line
    section = autoscaling(result)
    assert "| expert:sd |" in section and "a cold start costs 6.0 s" in section
