"""000 §5.3 as a drop (releasegate/postgres/coverage.py): unit, baseline, what a drop is."""

from __future__ import annotations

import json

from releasegate.postgres import coverage as C

KEY = C.row_key(3, 2025, "injuries")


def test_the_unit_is_declared_or_detected_and_shown_in_it():
    assert C.detect_unit([0.95, 0.42], None) == (C.FRACTION, "detected: no value over 1 (highest 0.95)")
    assert C.detect_unit([95, 42.5], None)[0] == C.PERCENT
    assert C.detect_unit([0.5], "percent") == (C.PERCENT, "declared (database.coverage.unit)")
    assert C.shown(0.425, C.FRACTION) == "0.425 (42.5 %)"
    assert C.shown(42.5, C.PERCENT) == "42.5 %"
    assert C.shown_percent(95.0, C.FRACTION) == "0.95 (95 %)"


def test_a_fraction_column_is_not_a_drop_against_a_percent_baseline():
    """The old floor fired on every row of a 0-1 column ('under 0.8 %'); a drop compares like units."""
    baseline = C.Baseline({}, 80.0, "profile")
    assert C.drops({KEY: 0.95}, C.FRACTION, baseline, 0) == []
    dropped = C.drops({KEY: 0.425}, C.FRACTION, baseline, 0)
    assert [d.describe(C.FRACTION) for d in dropped] == [f"{KEY} 0.425 (42.5 %), was 0.8 (80 %)"]


def test_previous_run_rows_win_over_the_profile_value_and_the_tolerance_is_in_points(tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"target": "prod", "started_at": "2026-12-05T10:00:00Z", "checks": [
        {"id": f"suites/data/test_pipeline.py::{C.CHECK}",
         "evidence": {"observed": {C.RECORD_KEY: {KEY: 97.0}}}}]}))
    baseline = C.baseline_for({"baseline_percent": 50}, summary, "prod")
    assert baseline.of(KEY) == 97.0 and baseline.of("other") == 50.0
    assert "previous run's summary.json" in baseline.source and "2026-12-05T10:00:00Z" in baseline.source
    assert C.drops({KEY: 96.5}, C.PERCENT, baseline, 1.0) == []
    assert [d.key for d in C.drops({KEY: 95.0}, C.PERCENT, baseline, 1.0)] == [KEY]
    other = C.baseline_for({}, summary, "staging")  # another target's run is no baseline
    assert other.empty and "another target" in other.source


def test_no_baseline_at_all_is_empty_and_says_why(tmp_path):
    baseline = C.baseline_for({}, None, "prod")
    assert baseline.empty and baseline.source == "no previous summary.json"
    assert C.record({KEY: 0.9}, C.FRACTION) == {C.RECORD_KEY: {KEY: 90.0}}


def test_a_dropped_row_keeps_its_baseline_for_the_next_run():
    baseline = C.Baseline({KEY: 97.0}, None, "previous")
    dropped = C.drops({KEY: 50.0, "other": 80.0}, C.PERCENT, baseline, 0)
    assert C.record({KEY: 50.0, "other": 80.0}, C.PERCENT, dropped) == \
        {C.RECORD_KEY: {KEY: 97.0, "other": 80.0}}
