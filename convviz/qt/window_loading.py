"""Loading into the main window: an image or array opened, dropped or chosen, a sample,
a blank input, and the sessions and model files that come the same way (a mixin of
:class:`~convviz.qt.main_window.MainWindow`).
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from convviz.core.model import MAX_CHANNELS
from convviz.io.file_names import display_name
from convviz.io.inputs import SUPPORTED_SUFFIXES, InputError, read_input
from convviz.io.model_weights import is_weights_file
from convviz.io.samples import load_sample
from convviz.io.session import SUFFIX as SESSION_SUFFIX
from convviz.qt.base.plain_text import plain
from convviz.qt.base.views import ok_cancel


class NewInputDialog(QtWidgets.QDialog):
    """Size and channel count of a new blank input."""

    def __init__(self, parent=None, shape=(28, 28, 1)):
        super().__init__(parent)
        self.setWindowTitle("New blank input")
        form = QtWidgets.QFormLayout(self)
        self.h, self.w, self.c = (QtWidgets.QSpinBox() for _ in range(3))
        self.h.setRange(3, 1024)
        self.w.setRange(3, 1024)
        self.c.setRange(1, MAX_CHANNELS)
        for box, v in zip((self.h, self.w, self.c), shape, strict=True):
            box.setValue(v)
        form.addRow("height H", self.h)
        form.addRow("width W", self.w)
        form.addRow("channels C_in", self.c)
        buttons = ok_cancel(self)
        form.addRow(buttons)

    def shape(self):
        return self.h.value(), self.w.value(), self.c.value()


class WindowLoading:
    """File → Open, Samples and New blank input, and files dropped on the window."""

    def load_path(self, path) -> bool:
        """Load an image or array, or import a model file's weights; on failure show why
        and keep the current work."""
        sessions = getattr(self, "sessions", None)
        if sessions is not None and str(path).lower().endswith(SESSION_SUFFIX):
            return sessions.open_session(path)
        if is_weights_file(path):
            return self.weights_import.import_path(path)
        try:
            loaded = read_input(
                path,
                max_side=self.max_side,
                keep_alpha=self.keep_alpha,
                settings=self.controller.layer_settings(),
            )
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open this file", plain(exc))
            return False
        self._set_loaded(loaded, f"Open {display_name(path)}")
        return True

    def load_sample(self, name: str) -> bool:
        try:
            loaded = load_sample(name)
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open this sample", plain(exc))
            return False
        self._set_loaded(loaded, f"Sample {name}")
        return True

    def _set_loaded(self, loaded, label: str) -> None:
        self.controller.set_input(loaded.array, loaded.channel_names, label=label)
        if loaded.notice:
            self.show_message(loaded.notice)

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open an image or array", "", f"Images and arrays ({patterns});;All files (*)"
        )
        if path:
            self.load_path(path)

    def new_blank_dialog(self) -> None:
        dialog = NewInputDialog(self, self.controller.input_shape())
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.controller.new_blank(*dialog.shape())

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.load_path(urls[0].toLocalFile())
            event.acceptProposedAction()
