"""Render a BPMN diagram (its BPMN DI) to SVG on the server: pools, lanes, Thai labels, gateways, flows.

An instance view marks elements: `completed` (green), `active` (orange, thick), `failed` (red, thickest: the
element of an incident) and step counts (a badge).
The drawing follows bpmn.io's shapes closely enough that a manager recognises the modeler's diagram.
Elements the source document does not draw (`camunda:property name="source" value="inferred"`) are drawn dashed,
with class `inferred`, and, for designers (`legend=True`), listed with their ids and `inferred_reason` in a legend
under the diagram; staff read a short Thai legend beside the diagram instead.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field

from lxml import etree

from mso_flow.domain import BPMN_NS

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
INFERRED_DASH = "7 4"
LEGEND_TITLE = "เส้นประ: ไม่มีในผังของคู่มือ เพิ่มจากการตีความ (dashed: not drawn by the manual, added by reading)"
SVG = "http://www.w3.org/2000/svg"
FONT = "Garuda, Tahoma, 'Noto Sans Thai', sans-serif"
FONT_SIZE = 11
COLORS = {
    "stroke": "#22242a",
    "completed_fill": "#e3f4e1",
    "completed_stroke": "#2e7d32",
    "active_fill": "#fff3e0",
    "active_stroke": "#ef6c00",
    "failed_fill": "#fdecea",
    "failed_stroke": "#b71c1c",
    "lane_fill": "#ffffff",
    "pool_fill": "#fafafa",
}
TASK_TAGS = {
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
}
GATEWAY_MARKS = {
    "exclusiveGateway": "x",
    "parallelGateway": "+",
    "inclusiveGateway": "o",
    "eventBasedGateway": "e",
}
EVENT_TAGS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}


@dataclass
class Marks:
    """What an instance diagram highlights."""

    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


def _is_combining(char: str) -> bool:
    return unicodedata.combining(char) > 0 or unicodedata.category(char) == "Mn"


def _text_width(text: str, font_size: float = FONT_SIZE) -> float:
    width = 0.0
    for char in text:
        if _is_combining(char):
            continue
        width += font_size * (0.68 if ord(char) > 0x0E00 else 0.58)
    return width


def _clusters(text: str) -> list[str]:
    """Split into grapheme-like clusters so Thai vowels and tone marks stay on their consonant."""
    clusters: list[str] = []
    for char in text:
        if clusters and _is_combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def wrap(text: str, width: float, max_lines: int = 5, font_size: float = FONT_SIZE) -> list[str]:
    """Wrap text (Thai or Latin) to `width` pixels at `font_size`, breaking between words (Thai words found by the
    segmenter), at spaces and slashes, and inside a word only when it is wider than a line."""
    lines: list[str] = []
    current = ""
    for word in _words(text):
        candidate = current + word
        if _text_width(candidate.strip(), font_size) <= width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.strip())
        current = ""
        for cluster in _clusters(word):
            if _text_width(current + cluster, font_size) > width and current:
                lines.append(current.strip())
                current = ""
            current += cluster
    if current.strip():
        lines.append(current.strip())
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][:-1] + "…"]
    return lines


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    """Words to break lines between: Thai has no spaces, so a dictionary segmenter finds the words."""
    from mso_flow.rendering.words import split_words  # loads its dictionary on first use

    words: list[str] = []
    for token in split_words(" ".join(text.split())):
        if words and (token == " " or token in "/)"):
            words[-1] += token
        else:
            words.append(token)
    return tuple(words)


class _Canvas:
    def __init__(self, min_x: float, min_y: float, width: float, height: float):
        self.root = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
        self.root.set("viewBox", f"{min_x:g} {min_y:g} {width:g} {height:g}")
        self.root.set("width", f"{width:g}")
        self.root.set("height", f"{height:g}")
        self.root.set("font-family", FONT)
        self.root.set("font-size", str(FONT_SIZE))
        defs = self.add(self.root, "defs")
        marker = self.add(
            defs,
            "marker",
            id="arrow",
            viewBox="0 0 10 10",
            refX="10",
            refY="5",
            markerWidth="8",
            markerHeight="8",
            orient="auto-start-reverse",
        )
        self.add(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill=COLORS["stroke"])
        self.add(
            self.root,
            "rect",
            x=f"{min_x:g}",
            y=f"{min_y:g}",
            width=f"{width:g}",
            height=f"{height:g}",
            fill="#ffffff",
        )

    @staticmethod
    def add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{SVG}}}{tag}")
        for key, value in attrs.items():
            element.set(key.rstrip("_").replace("_", "-"), value)
        if text is not None:
            element.text = text
        return element

    def text_block(self, parent: etree._Element, lines: list[str], cx: float, cy: float, **attrs: str) -> None:
        height = FONT_SIZE + 2
        top = cy - (len(lines) - 1) * height / 2
        text = self.add(
            parent,
            "text",
            x=f"{cx:g}",
            y=f"{top:g}",
            text_anchor="middle",
            dominant_baseline="middle",
            **attrs,
        )
        for i, line in enumerate(lines):
            span = self.add(text, "tspan", line, x=f"{cx:g}")
            span.set("dy", "0" if i == 0 else str(height))


def _index(root: etree._Element) -> dict[str, etree._Element]:
    return {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def _bounds(shape: etree._Element) -> tuple[float, float, float, float] | None:
    bounds = shape.find(f"{{{DC}}}Bounds")
    if bounds is None:
        return None
    return tuple(float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _extent(plane: etree._Element) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for bounds in plane.iter(f"{{{DC}}}Bounds"):
        x, y = float(bounds.get("x", 0)), float(bounds.get("y", 0))
        xs += [x, x + float(bounds.get("width", 0))]
        ys += [y, y + float(bounds.get("height", 0))]
    for point in plane.iter(f"{{{DI}}}waypoint"):
        xs.append(float(point.get("x", 0)))
        ys.append(float(point.get("y", 0)))
    if not xs:
        return 0, 0, 100, 100
    return min(xs) - 20, min(ys) - 20, max(xs) - min(xs) + 40, max(ys) - min(ys) + 40


def render_svg(xml: bytes, marks: Marks | None = None, legend: bool = True) -> bytes:
    """Draw the first diagram of a BPMN document as SVG bytes; `legend`: list the inferred elements under it."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    marks = marks or Marks()
    elements = _index(root)
    plane = root.find(f".//{{{BPMNDI}}}BPMNPlane")
    if plane is None:
        canvas = _Canvas(0, 0, 400, 60)
        canvas.add(canvas.root, "text", "ไม่มีแผนภาพ (no diagram in this BPMN file)", x="10", y="30")
        return etree.tostring(canvas.root, xml_declaration=True, encoding="UTF-8")
    canvas = _Canvas(*_extent(plane))
    layers = {name: canvas.add(canvas.root, "g", class_=name) for name in ("pools", "flows", "nodes", "labels")}
    for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        element = elements.get(shape.get("bpmnElement") or "")
        bounds = _bounds(shape)
        if element is None or bounds is None:
            continue
        _draw_shape(canvas, layers, element, bounds, shape, marks)
    for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
        element = elements.get(edge.get("bpmnElement") or "")
        if element is not None:
            _draw_edge(canvas, layers, element, edge, elements, marks)
    inferred = {key: reason for key, el in elements.items() if (reason := inferred_reason(el)) is not None}
    if inferred:
        _dash_inferred(canvas, inferred)
    if inferred and legend:
        _legend(canvas, [(elements[key], reason) for key, reason in inferred.items()], elements)
    return etree.tostring(canvas.root, xml_declaration=True, encoding="UTF-8")


def inferred_reason(element: etree._Element) -> str | None:
    """The reason an element was added by reading (`source=inferred`), or None for an element the source draws."""
    props = {
        prop.get("name"): prop.get("value") or ""
        for prop in element.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property")
    }
    return props.get("inferred_reason", "") if props.get("source") == "inferred" else None


def _dash_inferred(canvas: _Canvas, inferred: dict[str, str]) -> None:
    for group in canvas.root.iter(f"{{{SVG}}}g"):
        element_id = group.get("data-element-id")
        if element_id not in inferred:
            continue
        group.set("class", f"{group.get('class', '')} inferred".strip())
        for child in group:
            if child.get("stroke") and child.tag != f"{{{SVG}}}title":
                child.set("stroke-dasharray", INFERRED_DASH)


def _legend(canvas: _Canvas, items: list[tuple[etree._Element, str]], elements: dict[str, etree._Element]) -> None:
    """List the inferred elements under the diagram, growing the canvas to fit."""
    min_x, min_y, width, height = (float(v) for v in canvas.root.get("viewBox", "0 0 0 0").split())
    line = FONT_SIZE + 5
    top = min_y + height + 10
    group = canvas.add(canvas.root, "g", class_="legend")
    canvas.add(group, "text", LEGEND_TITLE, x=f"{min_x + 10:g}", y=f"{top + line:g}", font_weight="bold")
    names = {key: el.get("name") or key for key, el in elements.items()}
    for index, (element, reason) in enumerate(items, start=2):
        kind = etree.QName(element).localname
        name = element.get("name") or ""
        if not name and kind == "sequenceFlow":
            source, target = element.get("sourceRef") or "", element.get("targetRef") or ""
            name = f"{names.get(source, source)} → {names.get(target, target)}"
        text = f"- {name or element.get('id')} ({kind} {element.get('id')}): {reason}"
        canvas.add(group, "text", text, x=f"{min_x + 10:g}", y=f"{top + index * line:g}")
    grown = height + 10 + (len(items) + 2) * line
    canvas.root.set("viewBox", f"{min_x:g} {min_y:g} {width:g} {grown:g}")
    canvas.root.set("height", f"{grown:g}")
    background = canvas.root.find(f"{{{SVG}}}rect")
    if background is not None:
        background.set("height", f"{grown:g}")


def _style(element_id: str, marks: Marks) -> tuple[str, str, str]:
    if element_id in marks.failed:
        return COLORS["failed_fill"], COLORS["failed_stroke"], "4"
    if element_id in marks.active:
        return COLORS["active_fill"], COLORS["active_stroke"], "3"
    if element_id in marks.completed:
        return COLORS["completed_fill"], COLORS["completed_stroke"], "2"
    return "#ffffff", COLORS["stroke"], "1.5"


def _draw_shape(
    canvas: _Canvas, layers: dict, element: etree._Element, bounds: tuple, shape: etree._Element, marks: Marks
) -> None:
    tag = etree.QName(element).localname
    x, y, w, h = bounds
    element_id = element.get("id") or ""
    name = element.get("name") or ""
    group = canvas.add(layers["nodes"] if tag not in ("participant", "lane") else layers["pools"], "g")
    group.set("data-element-id", element_id)
    state = " active" if element_id in marks.active else " completed" if element_id in marks.completed else ""
    state += " failed" if element_id in marks.failed else ""
    group.set("class", tag + state)
    if name:
        canvas.add(group, "title", name)  # the full name, also where the drawn label is shortened
    fill, stroke, width = _style(element_id, marks)
    if tag in ("participant", "lane"):
        band = 30
        canvas.add(
            group,
            "rect",
            x=f"{x:g}",
            y=f"{y:g}",
            width=f"{w:g}",
            height=f"{h:g}",
            fill=COLORS["pool_fill" if tag == "participant" else "lane_fill"],
            stroke=COLORS["stroke"],
            stroke_width="1.5" if tag == "participant" else "1",
        )
        canvas.add(
            group,
            "line",
            x1=f"{x + band:g}",
            y1=f"{y:g}",
            x2=f"{x + band:g}",
            y2=f"{y + h:g}",
            stroke=COLORS["stroke"],
            stroke_width="1",
        )
        lines = wrap(name, max(h - 10, 20), max_lines=2)
        cx, cy = x + band / 2, y + h / 2
        label = canvas.add(group, "g", transform=f"rotate(-90 {cx:g} {cy:g})")
        canvas.text_block(label, lines, cx, cy, font_weight="bold" if tag == "participant" else "normal")
    elif tag in TASK_TAGS:
        canvas.add(
            group,
            "rect",
            x=f"{x:g}",
            y=f"{y:g}",
            width=f"{w:g}",
            height=f"{h:g}",
            rx="10",
            fill=fill,
            stroke=stroke,
            stroke_width=width,
        )
        if tag == "userTask":
            _user_icon(canvas, group, x + 6, y + 5)
        max_lines = max(1, min(5, int((h - 18) // (FONT_SIZE + 2))))
        canvas.text_block(group, wrap(name, w - 14, max_lines=max_lines), x + w / 2, y + h / 2 + 5)
    elif tag in GATEWAY_MARKS:
        cx, cy = x + w / 2, y + h / 2
        canvas.add(
            group,
            "polygon",
            points=f"{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}",
            fill=fill,
            stroke=stroke,
            stroke_width=width,
        )
        _gateway_marker(canvas, group, GATEWAY_MARKS[tag], cx, cy)
        _external_label(canvas, layers, shape, name, x, y - 30, w)
    elif tag in EVENT_TAGS:
        _draw_event(canvas, group, element, tag, bounds, fill, stroke)
        _external_label(canvas, layers, shape, name, x, y + h + 4, w)
    elif tag == "textAnnotation":
        text = element.findtext(f"{{{BPMN_NS}}}text") or ""
        canvas.add(
            group,
            "path",
            d=f"M {x + 10:g} {y:g} L {x:g} {y:g} L {x:g} {y + h:g} L {x + 10:g} {y + h:g}",
            fill="none",
            stroke=COLORS["stroke"],
        )
        canvas.text_block(group, wrap(text, w - 8), x + w / 2, y + h / 2)
    if element_id in marks.counts:
        _badge(canvas, layers["labels"], element_id, marks.counts[element_id], x + w, y)


def _user_icon(canvas: _Canvas, group: etree._Element, x: float, y: float) -> None:
    canvas.add(group, "circle", cx=f"{x + 6:g}", cy=f"{y + 4:g}", r="3.5", fill="none", stroke=COLORS["stroke"])
    canvas.add(
        group,
        "path",
        d=f"M {x:g} {y + 14:g} Q {x + 6:g} {y + 5:g} {x + 12:g} {y + 14:g} Z",
        fill="none",
        stroke=COLORS["stroke"],
    )


def _gateway_marker(canvas: _Canvas, group: etree._Element, kind: str, cx: float, cy: float) -> None:
    r = 9
    if kind == "x":
        canvas.add(
            group,
            "path",
            d=f"M {cx - r:g} {cy - r:g} L {cx + r:g} {cy + r:g} M {cx + r:g} {cy - r:g} L {cx - r:g} {cy + r:g}",
            stroke=COLORS["stroke"],
            stroke_width="3",
        )
    elif kind == "+":
        canvas.add(
            group,
            "path",
            d=f"M {cx:g} {cy - r:g} L {cx:g} {cy + r:g} M {cx - r:g} {cy:g} L {cx + r:g} {cy:g}",
            stroke=COLORS["stroke"],
            stroke_width="3",
        )
    elif kind == "o":
        canvas.add(
            group,
            "circle",
            cx=f"{cx:g}",
            cy=f"{cy:g}",
            r=str(r),
            fill="none",
            stroke=COLORS["stroke"],
            stroke_width="2.5",
        )
    else:
        canvas.add(group, "circle", cx=f"{cx:g}", cy=f"{cy:g}", r=str(r), fill="none", stroke=COLORS["stroke"])


def _draw_event(
    canvas: _Canvas,
    group: etree._Element,
    element: etree._Element,
    tag: str,
    bounds: tuple,
    fill: str,
    stroke: str,
) -> None:
    x, y, w, h = bounds
    cx, cy, r = x + w / 2, y + h / 2, w / 2
    dash = "4 3" if tag == "boundaryEvent" and element.get("cancelActivity") == "false" else "none"
    canvas.add(
        group,
        "circle",
        cx=f"{cx:g}",
        cy=f"{cy:g}",
        r=f"{r:g}",
        fill=fill,
        stroke=stroke,
        stroke_width="4" if tag == "endEvent" else "1.5",
        stroke_dasharray=dash,
    )
    if tag in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        canvas.add(
            group,
            "circle",
            cx=f"{cx:g}",
            cy=f"{cy:g}",
            r=f"{r - 3:g}",
            fill="none",
            stroke=stroke,
            stroke_dasharray=dash,
        )
    if element.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None:
        canvas.add(group, "circle", cx=f"{cx:g}", cy=f"{cy:g}", r=f"{r - 7:g}", fill="#ffffff", stroke=stroke)
        canvas.add(
            group,
            "path",
            d=f"M {cx:g} {cy:g} L {cx:g} {cy - r + 9:g} M {cx:g} {cy:g} L {cx + 5:g} {cy:g}",
            stroke=stroke,
        )
    elif element.find(f"{{{BPMN_NS}}}messageEventDefinition") is not None:
        ex, ey, ew, eh = cx - 8, cy - 6, 16, 12
        canvas.add(
            group,
            "rect",
            x=f"{ex:g}",
            y=f"{ey:g}",
            width=f"{ew:g}",
            height=f"{eh:g}",
            fill="#ffffff" if tag != "endEvent" else stroke,
            stroke=stroke,
        )
        canvas.add(
            group,
            "path",
            d=f"M {ex:g} {ey:g} L {cx:g} {cy:g} L {ex + ew:g} {ey:g}",
            fill="none",
            stroke=stroke if tag != "endEvent" else "#ffffff",
        )


def _external_label(
    canvas: _Canvas, layers: dict, shape: etree._Element, name: str, x: float, y: float, w: float
) -> None:
    if not name:
        return
    label = shape.find(f"{{{BPMNDI}}}BPMNLabel")
    bounds = _bounds(label) if label is not None else None
    if bounds:
        lx, ly, lw, lh = bounds
    else:
        lx, ly, lw, lh = x + w / 2 - 60, y, 120, 27
    lines = wrap(name, max(lw, 90), max_lines=3)
    canvas.text_block(layers["labels"], lines, lx + lw / 2, ly + lh / 2)


def _badge(canvas: _Canvas, parent: etree._Element, element_id: str, count: int, x: float, y: float) -> None:
    group = canvas.add(parent, "g", class_="count", data_count_for=element_id)
    canvas.add(group, "circle", cx=f"{x:g}", cy=f"{y:g}", r="10", fill="#1565c0")
    canvas.add(
        group,
        "text",
        str(count),
        x=f"{x:g}",
        y=f"{y + 4:g}",
        text_anchor="middle",
        fill="#ffffff",
        font_size="10",
        font_weight="bold",
    )


def _draw_edge(
    canvas: _Canvas,
    layers: dict,
    element: etree._Element,
    edge: etree._Element,
    elements: dict[str, etree._Element],
    marks: Marks,
) -> None:
    points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.iter(f"{{{DI}}}waypoint")]
    if len(points) < 2:
        return
    tag = etree.QName(element).localname
    element_id = element.get("id") or ""
    taken = element_id in marks.completed
    stroke = COLORS["completed_stroke"] if taken else COLORS["stroke"]
    path = "M " + " L ".join(f"{x:g} {y:g}" for x, y in points)
    attrs = {"d": path, "fill": "none", "stroke": stroke, "stroke_width": "2" if taken else "1.2"}
    if tag == "sequenceFlow":
        attrs["marker_end"] = "url(#arrow)"
    else:
        attrs["stroke_dasharray"] = "6 4"
    group = canvas.add(layers["flows"], "g", class_=tag)
    group.set("data-element-id", element_id)
    canvas.add(group, "path", **attrs)
    source = elements.get(element.get("sourceRef") or "")
    if source is not None and source.get("default") == element_id:
        (x1, y1), (x2, y2) = points[0], points[1]
        mx, my = x1 + (x2 - x1) * 0.25 or x1 + 8, y1 + (y2 - y1) * 0.25
        canvas.add(
            group,
            "path",
            d=f"M {mx - 5:g} {my - 5:g} L {mx + 5:g} {my + 5:g}",
            stroke=stroke,
            stroke_width="1.5",
        )
    name = element.get("name")
    if name:
        label = edge.find(f"{{{BPMNDI}}}BPMNLabel")
        bounds = _bounds(label) if label is not None else None
        if bounds:
            lx, ly, lw, lh = bounds
        else:
            (x1, y1), (x2, y2) = points[0], points[1]
            lx, ly, lw, lh = (x1 + x2) / 2 - 45, (y1 + y2) / 2 - 20, 90, 20
        canvas.text_block(
            layers["labels"],
            wrap(name, max(lw, 80), max_lines=2),
            lx + lw / 2,
            ly + lh / 2,
            font_size="10",
            fill="#37474f",
        )
