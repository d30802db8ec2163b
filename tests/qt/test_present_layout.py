"""The presentation diagram's layout arithmetic: pieces inside the room, never overlapping."""

from itertools import combinations

from convviz.qt.present.layout import Measures, plan


def measures(kernel):
    return Measures(
        title=24, kernel=kernel, op=39, join=39, sum=(89, 76), act_line=(48, 52),
        act_stacked=(72, 28), bar=51, note=0, hidden_note=24, gap=8, margin=8,
    )  # fmt: skip


def overlap(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def check_inside_and_apart(p, width, height):
    for name, (x, y, w, h) in p.rects.items():
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, name
    for (na, a), (nb, b) in combinations(p.rects.items(), 2):
        assert not overlap(a, b), (na, nb)


def test_a_wide_kernel_on_a_narrow_screen_puts_the_result_on_a_second_line():
    # One 5x5 kernel of 18 pt numbers is 527 px wide: on one line, the maps of a
    # 1024-px-wide screen would be 26-56 px; under the rows they get the room below.
    width, height = 1024, 568
    p = plan(width, height, 1, measures((527, 244)))
    assert p.arrangement == "wrapped"
    assert p.smallest >= 100
    check_inside_and_apart(p, width, height)
    # The line from the kernel maps reaches the sum, which sits under the rows.
    below_rows = max(y + h for k, (x, y, w, h) in p.rects.items() if k.startswith("kernel"))
    assert p.rects["sum"][1] > below_rows
    assert p.route[0][0] > p.route[-1][0] and p.route[-1][1] == p.sum_point[1]


def test_three_small_kernels_keep_the_diagram_on_one_reading_line():
    width, height = 1280, 560
    p = plan(width, height, 3, measures((200, 120)))
    assert p.arrangement in ("line", "stacked") and p.rows == 3
    assert p.route == []
    check_inside_and_apart(p, width, height)
