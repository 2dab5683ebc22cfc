"""Charts for the weekly report, drawn on the server as SVG (vector: sharp on a phone and in the PDF).

- `volume_chart` and `tone_chart` use matplotlib's SVG backend, text kept as SVG text in DejaVu Sans or the
  reader's sans-serif (smaller files than text drawn as paths; nothing is fetched), sized for a phone column:
  4.2 × 2.4 inches at 11 pt labels, so at 390 px the labels stay about 10 px high. Tone is never carried by colour
  alone: negative bars are hatched with lines one way, positive bars the other way, neutral bars are plain, and
  the legend names each tone (a dotted hatch was tried: ~250 KB of SVG circles per chart).
- `sparkline` is a tiny inline SVG polyline written here: one per agency in the ranked table (up to ~40), where a
  matplotlib figure each would cost ~40 ms and a 20 KB file; it has no text.
- `enough_points(values)`: a series with fewer than `MIN_POINTS` days carrying data gets words, not a chart.
Charts come back as `data:image/svg+xml;base64,…` URIs for an `<img>`: the HTML file stays self-contained and
WeasyPrint renders the same images in the PDF (or, with uri=False, as SVG documents the dashboard serves).
Drawing goes through pyplot's global state, which is not thread-safe: one chart at a time (`_DRAWING`), so the
dashboard's concurrent chart requests cannot corrupt each other.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import math
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

_DRAWING = threading.Lock()
_Chart = TypeVar("_Chart", bound=Callable[..., str])


def _one_at_a_time(draw: _Chart) -> _Chart:
    @functools.wraps(draw)
    def serialised(*args, **kwargs):
        with _DRAWING:
            return draw(*args, **kwargs)

    return serialised  # type: ignore[return-value]


MIN_POINTS = 3
FIGSIZE = (4.2, 2.4)
TONE_STYLE = {  # name -> (colour, hatch)
    "Negatif": ("#c0392b", "////"),
    "Netral": ("#9aa5b1", ""),
    "Positif": ("#2e8b57", "\\\\"),
    "Belum dinilai": ("#e3e7ec", ""),  # mentions not scored for tone yet
}


def enough_points(values: Sequence[float | int | None], zero_is_data: bool = False) -> bool:
    """True when at least MIN_POINTS values carry data: not None or NaN, and not zero unless `zero_is_data` (a net
    tone of 0 is a value; a volume of 0 is a day without news)."""
    return sum(1 for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))
               and (zero_is_data or v != 0)) >= MIN_POINTS


def _svg_uri(fig, uri: bool = True) -> str:
    """The figure as a `data:` URI (embedded in a report), or with uri=False the SVG document itself (served)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})  # no date: the same data gives the same file
    plt.close(fig)
    if not uri:
        return buffer.getvalue().decode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # a fixed hash salt: element ids follow from the content, so the same data gives the same file
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "monitor", "font.size": 11, "hatch.linewidth": 0.8,
                         "font.family": ["DejaVu Sans", "sans-serif"]})
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


@_one_at_a_time
def volume_chart(days: list[dt.date], series: dict[str, list[int]], uri: bool = True) -> str:
    """Stacked daily bars per tone (`series`: "Negatif"/"Netral"/"Positif" and, when some are not scored yet,
    "Belum dinilai" → counts per day in `days`)."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    fig, ax = _axes()
    x = mdates.date2num(days)
    bottom = [0.0] * len(days)
    for name, values in series.items():
        colour, hatch = TONE_STYLE[name]
        ax.bar(x, values, bottom=bottom, label=name, color=colour, hatch=hatch, edgecolor="white", width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=10, frameon=False, ncol=min(len(series), 3))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))
    ax.tick_params(axis="x", labelsize=10)
    fig.tight_layout()
    return _svg_uri(fig, uri)


@_one_at_a_time
def tone_chart(days: list[dt.date], values: list[float | None], uri: bool = True) -> str:
    """Net tone per day (None: no toned mention that day, left as a gap) on a fixed −1…+1 scale."""
    import matplotlib.dates as mdates

    fig, ax = _axes()
    x = mdates.date2num(days)
    y = [float("nan") if v is None else v for v in values]
    ax.plot(x, y, marker="o", markersize=4, color="#0b57d0", linewidth=1.5)
    ax.axhline(0, color="#888", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([-1, 0, 1], ["−1 negatif", "0", "+1 positif"])
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))
    ax.tick_params(axis="both", labelsize=10)
    fig.tight_layout()
    return _svg_uri(fig, uri)


def sparkline(values: list[int], width: int = 84, height: int = 22) -> str:
    """An inline `<svg>` polyline of `values` (e.g. daily mentions over four weeks), scaled to its own maximum."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values))
    return (f"<svg class='spark' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"preserveAspectRatio='none' role='img' "
            f"aria-label='tren 4 minggu, puncak {top} berita/hari'><polyline fill='none' stroke='#0b57d0' "
            f"stroke-width='1.5' points='{points}'/></svg>")
