"""Where each piece of the presentation diagram goes: plain arithmetic on pixel sizes.

The diagram reads left to right, one row per kernel of the selected filter::

    input channel  ∗  kernel  =  kernel map ─┐
    input channel  ∗  kernel  =  kernel map ─┼ + bias = pre-activation → act → feature map
    input channel  ∗  kernel  =  kernel map ─┘

In the "line" arrangement the pre-activation, the activation and the feature map follow
on the same line; in the "stacked" one the feature map sits under the pre-activation,
which leaves the rows more width on narrow screens; in the "wrapped" one the sum, the
activation and the feature map make a second line under the rows, for wide kernels
(5×5 and larger) on a narrow screen with height to spare. :func:`plan` tries them all
for as many rows as fit and keeps the one whose smallest map is largest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Rect = tuple[int, int, int, int]  # x, y, width, height

# A row map smaller than this (pixels, at scale 1) is not worth its row: show fewer
# rows and say how many kernels are left out.
MIN_ROW_SIDE = 64
# "line" wins unless "stacked" makes the smallest map this much larger.
LINE_PREFERENCE = 0.9
# A one-line arrangement whose maps are this large (pixels, at scale 1) is kept over
# "wrapped" even when two lines would make them larger: the lesson text keeps its room.
ENOUGH_SIDE = 140


@dataclass(frozen=True)
class Measures:
    """Sizes in pixels of the diagram's fixed parts, measured from its fonts."""

    title: int  # height of a map's title
    kernel: tuple[int, int]  # width, height of one kernel's grid with its label
    op: int  # width of the "∗" and "=" columns
    join: int  # width of the column of "+" joining the kernel maps
    sum: tuple[int, int]  # the "+ bias b =" label
    act_line: tuple[int, int]  # the activation label between two maps on a line
    act_stacked: tuple[int, int]  # the activation label under the pre-activation
    bar: int  # the colour bar beside the feature map
    note: int  # height of the notes under the rows (0: none)
    hidden_note: int  # more of it when rows are left out: it says which
    gap: int
    margin: int


@dataclass
class Plan:
    """The diagram's layout: map sides and a rectangle for every piece."""

    arrangement: str
    rows: int
    side: int  # view side of the input and kernel maps
    result: int  # view side of the pre-activation and feature map
    rects: dict[str, Rect] = field(default_factory=dict)
    # Kernel-map centres joined by the "+" column, and where the joint meets the sum.
    joints: list[tuple[int, int]] = field(default_factory=list)
    sum_point: tuple[int, int] = (0, 0)
    # "wrapped": the line from the "+" column down and back to the sum, as points.
    route: list[tuple[int, int]] = field(default_factory=list)

    @property
    def smallest(self) -> int:
        return min(self.side, self.result)


def plan(width: int, height: int, n: int, m: Measures, scale: float = 1.0) -> Plan | None:
    """The layout of `n` kernel rows in `width` × `height` pixels, or None if nothing fits.

    As many rows as keep the row maps at least `MIN_ROW_SIDE` × `scale` pixels; fewer
    rows leave room for the note that says what is not shown.
    """
    fallback = None
    for rows in range(n, 0, -1):
        note = m.note + (m.hidden_note if rows < n else 0)
        line = _place("line", rows, width, height, note, m)
        stacked = _place("stacked", rows, width, height, note, m)
        wrapped = _place_wrapped(rows, width, height, note, m)
        options = [p for p in (line, stacked, wrapped) if p is not None]
        if not options:
            continue
        best = max(options, key=lambda p: p.smallest)
        # One line reads best, then the stacked result column, then two lines.
        for preferred in (stacked, line):
            if preferred is not None and (
                preferred.smallest >= LINE_PREFERENCE * best.smallest
                or preferred.smallest >= ENOUGH_SIDE * scale
            ):
                best = preferred
        if best.side >= MIN_ROW_SIDE * scale:
            return best
        if fallback is None or best.smallest > fallback.smallest:
            fallback = best
    return fallback


def _place(arrangement: str, rows: int, width: int, height: int, note: int, m: Measures):
    g = m.gap
    kernel_w, kernel_h = m.kernel
    room = height - 2 * m.margin - (note + g if note else 0)
    pitch = (room - (rows - 1) * g) // rows
    if pitch < kernel_h:
        return None
    side_by_height = pitch - m.title
    left_fixed = m.margin + kernel_w + 2 * m.op + 4 * g
    if arrangement == "line":
        act_w, act_h = m.act_line
        fixed = left_fixed + m.join + m.sum[0] + act_w + m.bar + m.margin + 5 * g
        side = min(side_by_height, (width - fixed) // 4)
        result = min((width - fixed - 2 * side) // 2, height - 2 * m.margin - m.title)
    else:
        act_w, act_h = m.act_stacked
        fixed = left_fixed + m.join + m.sum[0] + m.bar + m.margin + 3 * g
        result_by_height = (height - 2 * m.margin - 2 * m.title - act_h - 2 * g) // 2
        side = min(side_by_height, (width - fixed) // 3, result_by_height)
        result = min(width - fixed - 2 * side, result_by_height)
    if side < 8 or result < side:
        return None
    p = Plan(arrangement, rows, side, result)
    _rows(p, m, room, note)
    if arrangement == "line":
        _result_line(p, m, height)
    else:
        _result_stacked(p, m, height)
    return p


def _place_wrapped(rows: int, width: int, height: int, note: int, m: Measures):
    """Rows on top; under them, from the left: + bias = pre-activation → act → feature map."""
    g = m.gap
    kernel_w, kernel_h = m.kernel
    act_w, act_h = m.act_line
    room = height - 2 * m.margin - (note + g if note else 0)
    left_fixed = m.margin + kernel_w + 2 * m.op + 4 * g
    side = (width - left_fixed - g - m.join - m.margin) // 2
    second_fixed = 2 * m.margin + m.join + m.sum[0] + act_w + m.bar + 4 * g
    result_by_width = (width - second_fixed) // 2

    def first_line(side: int) -> int:
        return rows * max(m.title + side, kernel_h) + (rows - 1) * g

    side = min(side, result_by_width)
    while side >= 8 and first_line(side) + 2 * g + m.title + side > room:
        side -= 1
    if side < 8:
        return None
    block = first_line(side)
    result = min(result_by_width, room - block - 2 * g - m.title)
    p = Plan("wrapped", rows, side, result)
    _rows(p, m, block + 2 * m.margin, 0)
    x_line = p.sum_point[0] - m.join // 2
    top = m.margin + block + 2 * g
    centre = top + m.title + result // 2
    x = m.margin + m.join
    p.rects["sum"] = (x, centre - m.sum[1] // 2, *m.sum)
    x += m.sum[0] + g
    p.rects["pre"] = (x, top, result, m.title + result)
    x += result + g
    p.rects["act"] = (x, centre - act_h // 2, act_w, act_h)
    x += act_w + g
    p.rects["feature"] = (x, top, result + m.bar, m.title + result)
    if note:
        p.rects["note"] = (m.margin, top + m.title + result + g, width - 2 * m.margin, note)
    between = m.margin + block + g
    lane = m.margin + m.join // 2
    p.route = [
        (x_line, p.sum_point[1]),
        (x_line, between),
        (lane, between),
        (lane, centre),
        (m.margin + m.join - 2, centre),
    ]
    p.sum_point = (m.margin + m.join, centre)
    return p


def _rows(p: Plan, m: Measures, room: int, note: int) -> None:
    g, side = m.gap, p.side
    kernel_w, kernel_h = m.kernel
    pitch = max(m.title + side, kernel_h)
    block = p.rows * pitch + (p.rows - 1) * g
    top = m.margin + (room - block) // 2
    x_op1 = m.margin + side + g
    x_kernel = x_op1 + m.op + g
    x_op2 = x_kernel + kernel_w + g
    x_map = x_op2 + m.op + g
    for r in range(p.rows):
        y = top + r * (pitch + g)
        map_top = y + (pitch - m.title - side) // 2 + m.title  # the map's own top
        centre = map_top + side // 2
        p.rects[f"input{r}"] = (m.margin, map_top - m.title, side, m.title + side)
        p.rects[f"op1_{r}"] = (x_op1, map_top, m.op, side)
        p.rects[f"kernel{r}"] = (x_kernel, y + (pitch - kernel_h) // 2, kernel_w, kernel_h)
        p.rects[f"op2_{r}"] = (x_op2, map_top, m.op, side)
        p.rects[f"map{r}"] = (x_map, map_top - m.title, side, m.title + side)
        p.joints.append((x_map + side, centre))
    x_join = x_map + side + g
    for r in range(p.rows - 1):
        y0, y1 = p.joints[r][1], p.joints[r + 1][1]
        p.rects[f"plus{r}"] = (x_join, y0, m.join, y1 - y0)
    if note:
        p.rects["note"] = (m.margin, top + block + g, x_join + m.join - m.margin, note)
    mid = (p.joints[0][1] + p.joints[-1][1]) // 2
    p.sum_point = (x_join + m.join, mid)


def _result_line(p: Plan, m: Measures, height: int) -> None:
    g, result = m.gap, p.result
    x, mid = p.sum_point[0] + g, p.sum_point[1]
    map_top = min(max(mid - result // 2, m.margin + m.title), height - m.margin - result)
    centre = map_top + result // 2
    p.rects["sum"] = (x, centre - m.sum[1] // 2, *m.sum)
    x += m.sum[0] + g
    p.rects["pre"] = (x, map_top - m.title, result, m.title + result)
    x += result + g
    act_w, act_h = m.act_line
    p.rects["act"] = (x, centre - act_h // 2, act_w, act_h)
    x += act_w + g
    p.rects["feature"] = (x, map_top - m.title, result + m.bar, m.title + result)
    p.sum_point = (p.sum_point[0], centre)


def _result_stacked(p: Plan, m: Measures, height: int) -> None:
    g, result = m.gap, p.result
    act_w, act_h = m.act_stacked
    block = 2 * (m.title + result) + act_h + 2 * g
    top = min(max(p.sum_point[1] - m.title - result // 2, m.margin), height - m.margin - block)
    x = p.sum_point[0] + g
    centre = top + m.title + result // 2
    p.rects["sum"] = (x, centre - m.sum[1] // 2, *m.sum)
    x += m.sum[0] + g
    p.rects["pre"] = (x, top, result, m.title + result)
    act_top = top + m.title + result + g
    p.rects["act"] = (x + (result - act_w) // 2, act_top, act_w, act_h)
    p.rects["feature"] = (x, act_top + act_h + g, result + m.bar, m.title + result)
    p.sum_point = (p.sum_point[0], centre)
