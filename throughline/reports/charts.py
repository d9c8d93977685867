"""Small server-rendered SVG charts: geometry computed here, drawn by templates/reports/_*.html.

No JavaScript and nothing from a CDN; each bar can carry a link to the records behind it.
"""

from __future__ import annotations

from decimal import Decimal


def bar_chart(items: list[dict], *, width: int = 560, height: int = 180, gap: int = 12) -> dict:
    """``items``: ``{"label", "value" (Decimal|number), "display", "url"}`` → bars in SVG units."""
    top = max((Decimal(str(i["value"])) for i in items), default=Decimal(0))
    plot = height - 36  # room for labels under and values above
    n = max(len(items), 1)
    bar_w = (width - gap * (n + 1)) / n
    bars = []
    for index, item in enumerate(items):
        value = Decimal(str(item["value"]))
        h = float(value / top * plot) if top > 0 and value > 0 else 0.0
        x = gap + index * (bar_w + gap)
        bars.append(
            {
                **item,
                "x": round(x, 1),
                "y": round(plot - h + 16, 1),
                "w": round(bar_w, 1),
                "h": round(h, 1),
                "cx": round(x + bar_w / 2, 1),
                "label_y": height - 6,
                "value_y": round(plot - h + 12, 1),
            }
        )
    return {"width": width, "height": height, "bars": bars}


def line_chart(
    points: list[Decimal],
    bands: tuple[list, list] | None = None,
    *,
    width: int = 560,
    height: int = 160,
) -> dict:
    """A polyline of ``points`` (and an optional low/high band polygon) scaled to the box."""
    series = [points] + (list(bands) if bands else [])
    top = max((max(s, default=Decimal(0)) for s in series), default=Decimal(0))
    n = max(len(points) - 1, 1)

    def xy(values):
        return " ".join(
            f"{round(i * width / n, 1)},"
            f"{round(height - (float(v / top) * (height - 10) if top > 0 else 0), 1)}"
            for i, v in enumerate(values)
        )

    band = ""
    if bands:
        low, high = bands
        high_pts = xy(high).split(" ")
        band = " ".join(xy(low).split(" ") + list(reversed(high_pts)))
    return {"width": width, "height": height, "line": xy(points), "band": band}
