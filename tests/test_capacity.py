"""`manage.py capacity`: steps of rising traffic, a table, the highest rate sustained."""

from __future__ import annotations

import argparse
import io

from stack import capacity


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    capacity.add_arguments_capacity_command(parser)
    return parser.parse_args(list(argv))


def test_the_ramp_runs_steps_and_reports_each_with_a_verdict(world):
    out = io.StringIO()
    result = capacity.run_capacity(start=4, factor=1.5, step_seconds=1.5, slo_ms=60_000,
                                   max_rate=7, workers=2, seed=3, out=out)
    assert 1 <= len(result.steps) <= 2
    assert [step.target for step in result.steps] == [4, 6][:len(result.steps)]
    for step in result.steps:
        assert step.achieved >= 0 and step.operations >= step.achieved
        assert step.verdict
        if step.p50 is not None:
            assert step.p50 <= step.p99
    assert result.stop_reason
    best = result.sustained
    assert best is None or (best.sustained and best in result.steps)
    if len(result.steps) == 2 and result.steps[-1].sustained:
        assert "--max-rate" in result.stop_reason
    text = out.getvalue()
    assert capacity.HEADER in text
    assert all(capacity.row(step) in text for step in result.steps)
    assert ("Sustained: " in text) == (best is not None)


def test_a_step_is_judged_by_latency_errors_and_shortfall():
    from stack.traffic_report import TrafficReport

    report = TrafficReport()
    for _ in range(10):
        report.attempt("order.place")
        report.commit("order.place", 0.010)
    assert capacity.judge(report, target=10, step_seconds=1, slo_ms=250).verdict == "ok"
    assert capacity.judge(report, target=10, step_seconds=1, slo_ms=5).verdict.startswith("p99")
    assert "placements committed" in capacity.judge(report, target=20, step_seconds=1,
                                                    slo_ms=250).verdict
    report.error(RuntimeError("boom"))
    assert capacity.judge(report, target=10, step_seconds=1, slo_ms=250).verdict.startswith("errors")
    from queries.errors import InsufficientStock

    refused = TrafficReport()
    refused.commit("order.place", 0.01)
    refused.error(InsufficientStock("none left"), business=True)
    assert capacity.judge(refused, target=1, step_seconds=1, slo_ms=250).verdict == "ok"


def test_capacity_command_uses_database_url_when_set(world, capsys):
    args = parse("--start", "3", "--step-seconds", "1", "--max-rate", "3", "--workers", "2",
                 "--slo-ms", "60000")
    assert capacity.capacity_command(args) == 0
    out = capsys.readouterr().out
    assert capacity.HEADER in out and "Stopped:" in out
    assert "throwaway" not in out


def test_capacity_command_without_database_url_uses_a_throwaway_server(monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    args = parse("--start", "2", "--step-seconds", "1", "--max-rate", "2", "--workers", "2",
                 "--scale", "tiny", "--slo-ms", "60000")
    assert capacity.capacity_command(args) == 0
    out = capsys.readouterr().out
    assert "throwaway PostgreSQL" in out and capacity.HEADER in out
    assert len([line for line in out.splitlines() if line.strip().startswith("2.0 ")]) == 1
    import os

    assert "DATABASE_URL" not in os.environ
