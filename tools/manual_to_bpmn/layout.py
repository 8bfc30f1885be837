"""Swimlane layout for generated diagrams: columns by longest forward path, rows by lane, orthogonal edges.

Nodes sit in a grid of columns (left to right in flow order) and lane rows (one or more slots per lane when
several nodes share a column). Edges never cross a shape: they leave a node into its column's free margin,
travel vertically only in the gaps between columns and horizontally only in the free band above or below a
row of nodes, and enter the target from the left (forward) or from above/below (loops).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

COL_W = 190
SLOT_H = 140
POOL_X = 160
POOL_Y = 80
POOL_LABEL_W = 30
LANE_LABEL_W = 30
CONTENT_PAD = 20
CHANNEL = 12  # distance of a routing band from the edge of its slot
SIZES = {"task": (130, 90), "gateway": (50, 50), "event": (36, 36)}


@dataclass
class Node:
    id: str
    kind: str  # task | gateway | event
    lane: str
    column: int = 0
    slot: int = 0
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class LaneBox:
    id: str
    y: float = 0
    h: float = 0
    slots: int = 1


@dataclass
class Diagram:
    nodes: dict[str, Node]
    lanes: list[LaneBox]
    edges: dict[str, list[tuple[float, float]]]
    boundaries: dict[str, tuple[float, float, float, float]]
    pool: tuple[float, float, float, float]
    labels: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


@dataclass
class _Router:
    nodes: dict[str, Node]
    lane_boxes: dict[str, LaneBox]
    x0: float
    gap_use: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    band_use: dict[tuple[str, int, str], int] = field(default_factory=lambda: defaultdict(int))

    def gap_x(self, after_column: int) -> float:
        """x of a vertical track in the gap after `after_column`, spread so tracks do not overlap."""
        n = self.gap_use[after_column]
        self.gap_use[after_column] += 1
        offset = ((n + 1) // 2) * 7 * (1 if n % 2 else -1)
        return self.x0 + (after_column + 1) * COL_W + offset

    def band_y(self, node: Node, side: str) -> float:
        """y of a horizontal track in the free band above ('top') or below ('bottom') a node's row."""
        key = (node.lane, node.slot, side)
        n = self.band_use[key]
        self.band_use[key] += 1
        slot_top = self.lane_boxes[node.lane].y + node.slot * SLOT_H
        if side == "top":
            return slot_top + CHANNEL - min(n, 3) * 3
        return slot_top + SLOT_H - CHANNEL + min(n, 3) * 3

    def row_clear(self, source: Node, target: Node, from_column: int | None = None) -> bool:
        """No node strictly between `from_column` (default the source's) and the target in their row."""
        start = source.column if from_column is None else from_column
        return not any(
            n.lane == source.lane and n.slot == source.slot and start < n.column < target.column
            for n in self.nodes.values()
        )

    def route(self, source: Node, target: Node, start: tuple[float, float] | None = None) -> list:
        same_row = source.lane == target.lane and source.slot == target.slot
        if target.column > source.column:
            if start is None and same_row and self.row_clear(source, target):
                return [(source.x + source.w, source.cy), (target.x, target.cy)]
            if start is None and source.kind == "gateway" and self.column_clear(source, target):
                return self._from_vertex(source, target)
            return self._forward(source, target, start)
        return self._backward(source, target, start)

    def row_key(self, node: Node) -> tuple[int, int]:
        return (self.lane_order(node), node.slot)

    def column_clear(self, source: Node, target: Node) -> bool:
        """Nothing in the source's column between its row and the target's row (inclusive)."""
        low, high = sorted((self.row_key(source), self.row_key(target)))
        return not any(
            n is not source and n.column == source.column and low <= self.row_key(n) <= high
            for n in self.nodes.values()
        )

    def _from_vertex(self, source: Node, target: Node) -> list:
        """Leave a gateway from its top or bottom corner, as modelers draw branches."""
        down = self.row_key(target) > self.row_key(source)
        exit_point = (source.cx, source.y + source.h if down else source.y)
        if target.column == source.column + 1 or self.row_clear(target, target, source.column):
            return [exit_point, (source.cx, target.cy), (target.x, target.cy)]
        band = self.band_y(target, "top" if down else "bottom")
        gx = self.gap_x(target.column - 1)
        return [exit_point, (source.cx, band), (gx, band), (gx, target.cy), (target.x, target.cy)]

    def _forward(self, source: Node, target: Node, start: tuple[float, float] | None) -> list:
        points: list[tuple[float, float]] = []
        if start is not None:
            side = "bottom" if start[1] >= source.cy else "top"
            points += [start, (start[0], self.band_y(source, side))]
            gx = self.gap_x(source.column)
            points.append((gx, points[-1][1]))
        else:
            gx = self.gap_x(source.column)
            points += [(source.x + source.w, source.cy), (gx, source.cy)]
        if target.column == source.column + 1:
            points += [(gx, target.cy), (target.x, target.cy)]
            return points
        above = (self.lane_order(source), source.slot) <= (self.lane_order(target), target.slot)
        band = self.band_y(target, "top" if above else "bottom")
        gx2 = self.gap_x(target.column - 1)
        points += [(gx, band), (gx2, band), (gx2, target.cy), (target.x, target.cy)]
        return points

    def _backward(self, source: Node, target: Node, start: tuple[float, float] | None) -> list:
        up = (self.lane_order(target), target.slot) <= (self.lane_order(source), source.slot)
        side = "top" if up else "bottom"
        exit_y = source.y if up else source.y + source.h
        first = start or (source.cx, exit_y)
        band_s = self.band_y(source, side)
        points = [first, (first[0], band_s)]
        if (target.lane, target.slot) != (source.lane, source.slot):
            gx = self.gap_x(min(source.column, target.column) - 1)
            band_t = self.band_y(target, side)
            points += [(gx, band_s), (gx, band_t)]
        else:
            band_t = band_s
        entry_y = target.y if up else target.y + target.h
        points += [(target.cx, band_t), (target.cx, entry_y)]
        return points

    def lane_order(self, node: Node) -> int:
        return list(self.lane_boxes).index(node.lane)


def layout(
    lanes: list[str],
    nodes: list[Node],
    edges: list[tuple[str, str, str]],
    boundaries: dict[str, tuple[str, str]] | None = None,
) -> Diagram:
    """Place `nodes` (with `column` and `lane` set) and route `edges` (id, source, target).

    `boundaries` maps a boundary event id to (attached task id, side 'top'|'bottom'); an edge whose source is a
    boundary event starts at that event.
    """
    boundaries = boundaries or {}
    by_cell: dict[tuple[str, int], list[Node]] = defaultdict(list)
    for node in nodes:
        node.slot = len(by_cell[(node.lane, node.column)])
        by_cell[(node.lane, node.column)].append(node)
        node.w, node.h = SIZES[node.kind]
    lane_boxes: dict[str, LaneBox] = {}
    y = POOL_Y
    for lane in lanes:
        slots = max([n.slot + 1 for n in nodes if n.lane == lane] or [1])
        lane_boxes[lane] = LaneBox(lane, y, slots * SLOT_H, slots)
        y += slots * SLOT_H
    x0 = POOL_X + POOL_LABEL_W + LANE_LABEL_W + CONTENT_PAD
    for node in nodes:
        box = lane_boxes[node.lane]
        node.x = x0 + node.column * COL_W + (COL_W - node.w) / 2
        node.y = box.y + node.slot * SLOT_H + (SLOT_H - node.h) / 2
    columns = max(n.column for n in nodes) + 1
    pool = (POOL_X, POOL_Y, x0 - POOL_X + columns * COL_W + CONTENT_PAD, y - POOL_Y)

    index = {n.id: n for n in nodes}
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for event_id, (task_id, side) in boundaries.items():
        task = index[task_id]
        w, h = SIZES["event"]
        ey = task.y - h / 2 if side == "top" else task.y + task.h - h / 2
        bounds[event_id] = (task.x + task.w - w - 8, ey, w, h)

    router = _Router(index, lane_boxes, x0)
    routed = {}
    labels = {}
    for edge_id, source_id, target_id in edges:
        target = index[target_id]
        if source_id in boundaries:
            bx, by, bw, bh = bounds[source_id]
            task = index[boundaries[source_id][0]]
            start = (bx + bw / 2, by + bh if boundaries[source_id][1] == "bottom" else by)
            routed[edge_id] = _simplify(router.route(task, target, start))
        else:
            source = index[source_id]
            routed[edge_id] = _simplify(router.route(source, target))
        if source_id in index and index[source_id].kind == "gateway":
            labels[edge_id] = _gateway_label(routed[edge_id])
    return Diagram(index, list(lane_boxes.values()), routed, bounds, pool, labels)


def _gateway_label(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Label of a flow leaving a gateway: above a straight exit, beside the first turn otherwise."""
    (x1, y1), (_, y2) = points[0], points[1]
    if y1 == y2:
        return (x1 + 8, y1 - 24, 100, 20)
    return (x1 + 6, y1 + 4 if y2 > y1 else y1 - 24, 100, 20)


def _simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop repeated and collinear middle points."""
    out: list[tuple[float, float]] = []
    for point in points:
        if out and out[-1] == point:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (ax == bx == point[0]) or (ay == by == point[1]):
                out[-1] = point
                continue
        out.append(point)
    return out
