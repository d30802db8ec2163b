"""Views never read the document: they get what they show from the frames or from the
controller's queries (`convviz/qt/control/queries.py`), and hear of changes through
``Controller.documentChanged``. Only the controller's own parts, in
`convviz/qt/control/`, hold the document."""

import ast
from pathlib import Path

import numpy as np
import pytest

from convviz.core.model import default_document
from convviz.qt.control.controller import Controller
from tests.qt.helpers import scene_image

QT = Path(__file__).resolve().parents[2] / "convviz" / "qt"
CONTROL = QT / "control"


def _is_controller(node: ast.expr, aliases: set[str]) -> bool:
    """``controller``, ``self.controller``, ``window.controller`` and so on, or a name
    that was given one of those."""
    if isinstance(node, ast.Attribute):
        return node.attr == "controller"
    return isinstance(node, ast.Name) and (node.id == "controller" or node.id in aliases)


def _controller_aliases(tree: ast.AST) -> set[str]:
    """Names assigned a controller anywhere in the module (``c = self.controller``)."""
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and node.value is not None
            and _is_controller(node.value, set())
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                aliases.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return aliases


def document_reads(source: str) -> list[int]:
    """Lines of ``source`` that read a controller's ``doc``: ``x.controller.doc``,
    ``controller.doc``, ``c.doc`` after ``c = x.controller``, or ``getattr`` of it."""
    tree = ast.parse(source)
    aliases = _controller_aliases(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "doc":
            if _is_controller(node.value, aliases):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and _is_controller(node.args[0], aliases)
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "doc"
        ):
            lines.append(node.lineno)
    return sorted(lines)


def _views():
    return sorted(p for p in QT.rglob("*.py") if CONTROL not in p.parents)


def test_the_scan_finds_every_way_of_reading_the_document():
    source = """
def f(self, window, controller):
    a = self.controller.doc
    b = window.controller.doc.kernel
    c = self.window.controller.doc
    d = controller.doc
    e = self.controller
    e.doc.subscribe(print)
    g = getattr(self.controller, "doc")
"""
    assert document_reads(source) == [3, 4, 5, 6, 8, 9]


def test_the_scan_leaves_other_names_called_doc_alone():
    source = """
def f(self, item, frame):
    a = item.doc
    b = self.doc
    c = frame.document
    d = self.controller.docs
    e = self.controller.layer_settings()
"""
    assert document_reads(source) == []


def test_the_views_are_scanned():
    names = {p.relative_to(QT).as_posix() for p in _views()}
    assert {"main_window.py", "inspection/inspector.py", "export/code.py"} <= names
    assert not any(n.startswith("control/") for n in names)


@pytest.mark.parametrize("path", _views(), ids=lambda p: p.relative_to(QT).as_posix())
def test_no_view_reads_the_document(path):
    reads = document_reads(path.read_text(encoding="utf-8"))
    assert not reads, (
        f"{path.relative_to(QT)} reads controller.doc on line(s) {reads}: ask the "
        "controller (a query in convviz/qt/control/queries.py) or use the frame"
    )


# -- the queries -------------------------------------------------------------------------
@pytest.fixture
def controller(qtbot):
    return Controller(default_document(scene_image(9, 11, 3)))


def test_the_queries_answer_what_the_document_holds(controller):
    doc = controller.doc
    assert controller.layer_settings() is doc.settings
    assert controller.selected_filter() == doc.selected_filter
    assert controller.layer_shown() == 0
    assert controller.input_shape() == doc.input.shape
    assert controller.channel_names() == doc.channel_names
    assert controller.output_size() == (7, 9)  # 3×3 kernels, valid padding
    kernel, bias = controller.weights()
    np.testing.assert_array_equal(kernel, doc.kernel)
    np.testing.assert_array_equal(bias, doc.bias)
    f = doc.selected_filter
    np.testing.assert_array_equal(controller.filter_kernels(), doc.kernel[..., f])
    np.testing.assert_array_equal(controller.filter_kernels(1), doc.kernel[..., 1])
    np.testing.assert_array_equal(controller.input_image(), doc.input)


def test_the_queries_hand_out_no_array_of_the_document(controller):
    doc = controller.doc
    kernel, bias = controller.weights()
    kernel += 1
    bias += 1
    assert not np.array_equal(kernel, doc.kernel) and not np.array_equal(bias, doc.bias)
    for array in (controller.input_image(), controller.filter_kernels()):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0, 0, 0] = 5.0


def test_document_changed_relays_each_change_after_the_controller_noted_it(controller):
    controller.refresh_now()
    heard = []
    # The controller's refresh is already on its way when a listener hears the change.
    controller.documentChanged.connect(
        lambda what: heard.append((what, controller._timer.isActive()))
    )
    controller.documentChanged.connect(lambda what: None)  # one relay, not one per listener
    controller.select_filter(1)
    controller.refresh_now()
    controller.set_bias(0.5)
    assert [(what.selection, what.weights) for what, _ in heard] == [(True, False), (False, True)]
    assert all(noted for _, noted in heard)
