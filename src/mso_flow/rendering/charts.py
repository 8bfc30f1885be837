"""Horizontal bar charts as SVG, drawn on the server for the KPI dashboard (pure functions, no JavaScript).

Each bar carries its value as text as well as its length, so the chart reads without colour; labels are
escaped and wrapped to the label column."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

LABEL_WIDTH = 330
BAR_WIDTH = 330
ROW = 34
FONT = "TH Sarabun New, TH Sarabun PSK, Sarabun, Laksaman, Noto Sans Thai, Leelawadee UI, Tahoma, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    ratio: float  # 0..1
    note: str  # e.g. "12 เรื่อง"


def _lines(label: str, width: int = 34) -> list[str]:
    """At most two lines of the label, split at a space where there is one (Thai names rarely are longer)."""
    if len(label) <= width:
        return [label]
    cut = label.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return [label[:cut], label[cut:].strip()][:2]


def bar_chart(bars: list[Bar], title: str, target: float | None = None) -> str:
    """An SVG of one bar per item: its share in percent (0-100 %), with a dashed target line if given."""
    height = ROW * len(bars) + 40
    width = LABEL_WIDTH + BAR_WIDTH + 150
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-family="{FONT}" font-size="16">',
        f"<title>{escape(title)}</title>",
    ]
    for index, bar in enumerate(bars):
        y = 10 + index * ROW
        lines = _lines(bar.label)
        for n, line in enumerate(lines):
            dy = 22 if len(lines) == 1 else 13 + n * 16
            out.append(
                f'<text x="{LABEL_WIDTH - 8}" y="{y + dy}" text-anchor="end" fill="#1a1a1a">{escape(line)}</text>'
            )
        ratio = min(max(bar.ratio, 0.0), 1.0)
        fill = "#1f6f43" if target is None or ratio >= target else "#a3361f"
        out.append(f'<rect x="{LABEL_WIDTH}" y="{y + 6}" width="{BAR_WIDTH}" height="20" fill="#eef1f4"/>')
        out.append(f'<rect x="{LABEL_WIDTH}" y="{y + 6}" width="{ratio * BAR_WIDTH:.1f}" height="20" fill="{fill}"/>')
        out.append(
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 22}" fill="#1a1a1a">'
            f"{ratio * 100:.0f}% · {escape(bar.note)}</text>"
        )
    if target is not None:
        x = LABEL_WIDTH + target * BAR_WIDTH
        bottom = 10 + ROW * len(bars)
        out.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{bottom}" stroke="#1a1a1a" stroke-dasharray="4 3"/>')
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="middle" fill="#1a1a1a">เป้าหมาย {target * 100:.0f}%</text>'
        )
    out.append("</svg>")
    return "".join(out)
