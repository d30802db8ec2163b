import pytest
from PySide6 import QtCore

from convviz.core.model import default_document
from convviz.qt.app import configure_pyqtgraph
from convviz.qt.base import safe_paint
from convviz.qt.control.controller import Controller
from convviz.qt.main_window import MainWindow
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import scene_image


@pytest.fixture
def make_window(qtbot):
    configure_pyqtgraph()

    def make(image=None, names=None):
        image = scene_image() if image is None else image
        doc = default_document(image, names)
        window = MainWindow(Controller(doc))
        qtbot.addWidget(window)
        window.resize(1400, 850)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture(autouse=True)
def no_paint_failures():
    """Fail any test during which a paint override raised (it is caught, not shown)."""
    before = dict(safe_paint.failures)
    yield
    assert dict(safe_paint.failures) == before, "a paint() or paintEvent() raised"


@pytest.fixture
def make_manager(tmp_path):
    def make(window, name="prefs.ini"):
        settings = QtCore.QSettings(str(tmp_path / name), QtCore.QSettings.Format.IniFormat)
        m = install_sessions(window, settings=settings, recovery_dir=tmp_path / "recovery")
        m.asked = []
        m.warnings = []
        m.answer = "discard"
        m.ask_unsaved = lambda: m.asked.append("unsaved") or m.answer
        m.warn = lambda title, text: m.warnings.append(text)
        return m

    return make


@pytest.fixture
def manager(window, make_manager):
    return make_manager(window)
