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
    # Each rise fills its own band (SVG y grows downwards), called above connected, so
    # connected is never drawn above called.
    assert ys(chart.called) == [22.0, 11.0, 0.0]
    assert ys(chart.connected) == [48.0, 37.0, 26.0]


def test_the_detail_chart_still_runs_to_the_total():
    rows = snapshots([5000, 5020, 5040], [1000, 1005, 1010])
    chart = line_chart(rows, total=10_000, height=160)
    assert chart.peak == 10_000
    assert ys(chart.called)[0] == 80.0  # half of the audience: half-way up


def test_a_sparkline_of_nothing_moving_is_flat_not_an_error():
    chart = line_chart(snapshots([7, 7], [0, 0]), height=48, fit_movement=True)
    assert ys(chart.called) == [22.0, 22.0]  # along the bottom of its band: no rise
    assert ys(chart.connected) == [48.0, 48.0]
