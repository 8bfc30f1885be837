"""Horizontal bar charts as SVG, drawn on the server for the KPI dashboard (pure functions, no JavaScript).

Each item is its label (wrapped between words over the chart's width), its bar, and its value as text under the
bar, so the chart reads without colour and stays narrow: drawn 400 units wide, it is scaled down only a little on a
phone (390 px), where its 16-unit text stays above 12 px. Labels are escaped; a `<desc>` lists every value for
screen readers."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from mso_flow.rendering.svg import wrap

WIDTH = 400
FONT_SIZE = 16
LINE = 21  # a line of text
BAR = 18
GAP = 16  # between items
QUOTE = {'"': "&quot;"}
FONT = "TH Sarabun New, TH Sarabun PSK, Sarabun, Laksaman, Noto Sans Thai, Leelawadee UI, Tahoma, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    ratio: float  # 0..1
    note: str  # e.g. "12 เรื่อง"
    target: float | None = None  # the manual's target share, drawn as a mark across the bar


def _note(bar: Bar) -> tuple[str, bool]:
    """The value in words, and whether it is below its target."""
    ratio = min(max(bar.ratio, 0.0), 1.0)
    note = f"{ratio * 100:.0f}% · {bar.note}"
    below = bar.target is not None and ratio < bar.target
    if bar.target is not None:
        note += f" · เป้า {bar.target * 100:.0f}%" + (" ต่ำกว่าเป้า" if below else "")
    return note, below


def bar_chart(bars: list[Bar], title: str) -> str:
    """An SVG of one bar per item: its share in percent; a bar under its target is drawn in the late colour,
    with the target as a dark mark and written after the value."""
    out: list[str] = []
    described: list[str] = []
    y = 4.0
    for bar in bars:
        lines = wrap(bar.label, WIDTH, max_lines=50, font_size=FONT_SIZE)
        for line in lines:
            y += LINE
            out.append(f'<text class="label" x="0" y="{y:.0f}" font-weight="600">{escape(line)}</text>')
        note, below = _note(bar)
        ratio = min(max(bar.ratio, 0.0), 1.0)
        top = y + 8
        out.append(f'<rect x="0" y="{top:.0f}" width="{WIDTH}" height="{BAR}" fill="#e4e8ec"/>')
        fill = "#a3361f" if below else "#1f6f43"
        out.append(f'<rect x="0" y="{top:.0f}" width="{ratio * WIDTH:.1f}" height="{BAR}" fill="{fill}"/>')
        if bar.target is not None:
            x = min(max(bar.target * WIDTH, 1.5), WIDTH - 1.5)
            out.append(f'<rect x="{x - 1.5:.1f}" y="{top - 4:.0f}" width="3" height="{BAR + 8}" fill="#1a1a1a"/>')
        y = top + BAR + LINE
        out.append(f'<text class="value" x="0" y="{y:.0f}">{escape(note)}</text>')
        y += GAP
        described.append(f"{bar.label}: {note}")
    height = y + 4
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" '
        f'aria-label="{escape(title, QUOTE)}" font-family="{FONT}" font-size="{FONT_SIZE}" fill="#1a1a1a">'
        f"<title>{escape(title)}</title><desc>{escape('; '.join(described))}</desc>"
    )
    return head + "".join(out) + "</svg>"
