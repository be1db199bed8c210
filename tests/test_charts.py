"""The charts' scales: the detail chart runs to the audience, a sparkline to its movement."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from campaigns.charts import line_chart

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def snapshots(called, connected):
    return [SimpleNamespace(taken_at=START + timedelta(seconds=10 * i), contacts_called=a,
                            contacts_connected=b)
            for i, (a, b) in enumerate(zip(called, connected, strict=True))]


def ys(points: str) -> list[float]:
    return [float(pair.split(",")[1]) for pair in points.split()]


def test_a_sparkline_spans_its_movement_not_the_audience():
    rows = snapshots([5000, 5020, 5040], [1000, 1005, 1010])
    chart = line_chart(rows, width=280, height=48, fit_movement=True)
    # Both rises fill the height (SVG y grows downwards): from the bottom to the top.
    assert ys(chart.called) == [48.0, 24.0, 0.0]
    assert ys(chart.connected) == [48.0, 24.0, 0.0]


def test_the_detail_chart_still_runs_to_the_total():
    rows = snapshots([5000, 5020, 5040], [1000, 1005, 1010])
    chart = line_chart(rows, total=10_000, height=160)
    assert chart.peak == 10_000
    assert ys(chart.called)[0] == 80.0  # half of the audience: half-way up


def test_a_sparkline_of_nothing_moving_is_flat_not_an_error():
    chart = line_chart(snapshots([7, 7], [3, 3]), height=48, fit_movement=True)
    assert len(set(ys(chart.called))) == 1
