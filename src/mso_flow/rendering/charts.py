"""Horizontal bar charts as SVG, drawn on the server for the KPI dashboard (pure functions, no JavaScript).

Each bar carries its value as text as well as its length, so the chart reads without colour; labels are
escaped and wrapped to the label column."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from mso_flow.rendering.words import split_words

LABEL_WIDTH = 330
BAR_WIDTH = 330
ROW = 52
LINE = 17
FONT = "TH Sarabun New, TH Sarabun PSK, Sarabun, Laksaman, Noto Sans Thai, Leelawadee UI, Tahoma, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    ratio: float  # 0..1
    note: str  # e.g. "12 เรื่อง"
    target: float | None = None  # the manual's target share, drawn as a mark across the bar


def _lines(label: str, width: int = 36) -> list[str]:
    """The label in lines of about `width` characters, broken only between words (Thai words found by
    pythainlp); never cut short."""
    if len(label) <= width:
        return [label]
    lines = [""]
    for word in split_words(label):
        if lines[-1] and len(lines[-1]) + len(word) > width:
            lines.append("")
        lines[-1] += word
    return [line.strip() for line in lines if line.strip()]


def bar_chart(bars: list[Bar], title: str) -> str:
    """An SVG of one bar per item: its share in percent; a bar under its target is drawn in the late colour,
    with the target as a dark mark and written after the value."""
    labels = [_lines(bar.label) for bar in bars]
    rows = [max(ROW, LINE * len(lines) + 14) for lines in labels]
    height = sum(rows) + 16
    width = LABEL_WIDTH + BAR_WIDTH + 300
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-family="{FONT}" font-size="16">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (bar, lines) in enumerate(zip(bars, labels, strict=True)):
        y = 8 + sum(rows[:index]) + (rows[index] - ROW) // 2  # the bar in the middle of its row
        for n, line in enumerate(lines):
            dy = 30 + (n - (len(lines) - 1) / 2) * LINE
            out.append(
                f'<text x="{LABEL_WIDTH - 8}" y="{y + dy:.0f}" text-anchor="end" fill="#1a1a1a">{escape(line)}</text>'
            )
        ratio = min(max(bar.ratio, 0.0), 1.0)
        below = bar.target is not None and ratio < bar.target
        fill = "#a3361f" if below else "#1f6f43"
        out.append(f'<rect x="{LABEL_WIDTH}" y="{y + 14}" width="{BAR_WIDTH}" height="20" fill="#e4e8ec"/>')
        out.append(f'<rect x="{LABEL_WIDTH}" y="{y + 14}" width="{ratio * BAR_WIDTH:.1f}" height="20" fill="{fill}"/>')
        note = f"{ratio * 100:.0f}% · {bar.note}"
        if bar.target is not None:
            x = LABEL_WIDTH + bar.target * BAR_WIDTH
            out.append(f'<rect x="{x - 1.5:.1f}" y="{y + 10}" width="3" height="28" fill="#1a1a1a"/>')
            note += f" · เป้า {bar.target * 100:.0f}%" + (" ต่ำกว่าเป้า" if below else "")
        out.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 30}" fill="#1a1a1a">{escape(note)}</text>')
    out.append("</svg>")
    return "".join(out)
