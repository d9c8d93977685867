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


def grouped_bar_chart(
    groups: list[dict], series: list[str], *, width: int = 560, height: int = 180, gap: int = 16
) -> dict:
    """Bars side by side per group, on one scale. ``groups``: ``{"label", "bars": [{"value",
    "display", "url"}, …]}`` with one bar per name in ``series`` (the legend), in its order.
    A negative value (credit notes above a month's invoices) draws no bar; its figure shows."""
    values = [Decimal(str(b["value"])) for g in groups for b in g["bars"]]
    top = max(values, default=Decimal(0))
    plot = height - 50  # room for the legend and values above, labels under
    n = max(len(groups), 1)
    k = max(len(series), 1)
    group_w = (width - gap * (n + 1)) / n
    bar_w = group_w / k
    drawn = []
    for index, group in enumerate(groups):
        x0 = gap + index * (group_w + gap)
        bars = []
        for position, bar in enumerate(group["bars"]):
            value = Decimal(str(bar["value"]))
            h = float(value / top * plot) if top > 0 and value > 0 else 0.0
            x = x0 + position * bar_w
            bars.append(
                {
                    **bar,
                    "series": series[position],
                    "position": position,
                    "x": round(x, 1),
                    "y": round(plot - h + 30, 1),
                    "w": round(bar_w - 2, 1),
                    "h": round(h, 1),
                    "cx": round(x + bar_w / 2, 1),
                    "value_y": round(plot - h + 26, 1),
                }
            )
        drawn.append(
            {**group, "bars": bars, "cx": round(x0 + group_w / 2, 1), "label_y": height - 6}
        )
    legend = [{"name": name, "position": i, "x": 8 + i * 110} for i, name in enumerate(series)]
    # Past six groups the figures would overlap: the bars' tooltips and the table carry them.
    return {
        "width": width,
        "height": height,
        "groups": drawn,
        "legend": legend,
        "show_values": n <= 6,
    }


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
