"""The soak's bookkeeping: how a response is counted, and the RSS slope of a process over time."""

from bench.soak import error_kind, slopes


def test_responses_are_counted_by_kind():
    assert error_kind(200, {"hugginggpt": {"results": [{"status": "ok"}]}}) is None
    assert error_kind(503, {"error": {"code": "overloaded"}}) == "503 overloaded"
    failed = {"results": [{"status": "ok"}, {"status": "failed", "error_code": "expert_unavailable"}]}
    assert error_kind(503, failed) == "503 expert_unavailable"
    late = {"hugginggpt": {"results": [{"status": "timeout", "error_code": "deadline_exceeded"}]}}
    assert error_kind(200, late) == "200 task deadline_exceeded"


def test_rss_slope_is_mb_per_minute_after_the_warm_up():
    samples = [
        {"t": t, "deployment": "Ingress", "pid": 7, "rss_mb": 500 + (t / 60) * 3, "fds": 40 + t // 60}
        for t in range(0, 600, 10)
    ]
    samples.insert(0, {"t": 0, "deployment": "Ingress", "pid": 7, "rss_mb": 100, "fds": 10})  # loading
    (row,) = slopes(samples, skip_s=60).values()
    assert row["rss_slope_mb_per_min"] == 3.0
    assert (row["fds_first"], row["fds_last"], row["fds_max"]) == (41, 49, 49)
