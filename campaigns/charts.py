"""Server-rendered SVG line charts of contacts called and connected over time.

A few polylines do not need a chart library: the points are computed here and the
template draws them, so the chart arrives inside the same fragment as the numbers.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

# Enough points for a smooth line at card and page width; more only costs bytes.
MAX_POINTS = 120
# The share of a sparkline's height between its called band and its connected band.
SPARKLINE_GAP = 1 / 12


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    called: str  # "x,y x,y …" for <polyline points="…">
    connected: str
    peak: int
    start_label: str  # in the server's zone, named: for the drawing's text alternative
    end_label: str
    start: datetime | None = None  # for the axis, shown in the person's zone (`local`)
    end: datetime | None = None
    style: str = "time"  # of when.local: the parts of a time the axis shows

    @property
    def empty(self) -> bool:
        return not self.called


def line_chart(snapshots, *, width: int = 600, height: int = 160, total: int = 0,
               fit_movement: bool = False) -> Chart:
    """`snapshots`: objects with taken_at, contacts_called, contacts_connected, oldest first.

    The y axis runs to the campaign's total so a flat line near the top reads as "almost
    done", not as "the maximum of whatever happened". A sparkline (`fit_movement`) instead
    spans just the values in its window, each line its own: 40 more calls out of 10,000
    must show as a rise, not as a flat line. Its two lines get a band each, called above
    connected: on one band, own scales crossed (connected drawn above called) and a
    line that did not move floated at mid-height.
    """
    points = _downsample(list(snapshots), MAX_POINTS)
    if len(points) < 2:
        return Chart(width, height, "", "", total, "", "")
    start, end = points[0].taken_at, points[-1].taken_at
    span = (end - start).total_seconds() or 1.0
    peak = max(total, max(p.contacts_called for p in points), 1)

    def line(values, band_top: float = 0, band_bottom: float = height) -> str:
        floor, top = 0, peak
        if fit_movement:
            # Each line spans its own range: connected moves on a smaller scale than
            # called, and one shared range would flatten it again.
            floor, top = min(values), max(values)
            if top == floor:  # nothing moved: flat along the bottom of its band
                top = floor + 1
        band = band_bottom - band_top
        return " ".join(
            f"{(p.taken_at - start).total_seconds() / span * width:.1f},"
            f"{band_bottom - (v - floor) / (top - floor) * band:.1f}"
            for p, v in zip(points, values, strict=True)
        )

    called = [p.contacts_called for p in points]
    connected = [p.contacts_connected for p in points]
    if fit_movement:
        gap = height * SPARKLINE_GAP
        lines = (line(called, 0, (height - gap) / 2), line(connected, (height + gap) / 2))
    else:
        lines = (line(called), line(connected))

    # Seconds matter on a short campaign; on a long one they are noise.
    label, style = ("%H:%M:%S %Z", "time") if span < 3600 else ("%b %d %H:%M %Z", "day-minute")
    start_local, end_local = timezone.localtime(start), timezone.localtime(end)
    return Chart(
        width, height,
        called=lines[0],
        connected=lines[1],
        peak=peak,
        start_label=start_local.strftime(label),
        end_label=end_local.strftime(label),
        start=start, end=end, style=style,
    )


def _downsample(points: list, limit: int) -> list:
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]
