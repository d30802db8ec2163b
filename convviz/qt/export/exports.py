"""File → Export: panels and the pipeline figure as PNG, arrays as .npy.

Single panels are saved with ``QWidget.grab()``: it captures exactly what the class sees
(titles, colour bars, the selected-filter frame) at the panel's on-screen size and device
pixel ratio, in one call that works the same on every platform and headless. pyqtgraph's
ImageExporter renders one scene item instead, without the panel's titles and with its own
size rounding; for a resolution-independent slide use "Pipeline figure…", which draws at
any scale. Every file is written atomically: an existing file is only ever replaced by a
complete new one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from convviz.io.export import (
    export_feature_maps,
    export_input,
    export_kernel_maps,
    with_suffix,
    write_bytes,
)
from convviz.io.file_names import display_name
from convviz.qt.base.plain_text import plain
from convviz.qt.base.views import ok_cancel
from convviz.qt.export.figure import pipeline_data, pipeline_layout, png_bytes, render_pipeline

PNG_FILTER = "PNG images (*.png)"
NPY_FILTER = "NumPy arrays (*.npy)"


class FigureDialog(QtWidgets.QDialog):
    """Scale, number of filters and theme of a pipeline figure, with its size in pixels."""

    def __init__(self, state: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Pipeline figure")
        self.state = state
        total = state["settings"].filters
        form = QtWidgets.QFormLayout(self)
        self.scale = QtWidgets.QDoubleSpinBox()
        self.scale.setRange(0.5, 8.0)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(2.0)
        self.scale.setSuffix(" ×")
        self.filters = QtWidgets.QSpinBox()
        self.filters.setRange(0, total)
        self.filters.setSpecialValueText(f"the selected filter ({state['selected_filter'] + 1})")
        self.filters.setPrefix("first ")
        self.filters.setValue(0)
        self.theme = QtWidgets.QComboBox()
        self.theme.addItems(["light", "dark"])
        self.size_label = QtWidgets.QLabel()
        form.addRow("scale (pixels per unit)", self.scale)
        form.addRow(f"filters shown (of {total})", self.filters)
        form.addRow("theme", self.theme)
        form.addRow("image size", self.size_label)
        buttons = ok_cancel(self)
        form.addRow(buttons)
        self.scale.valueChanged.connect(self._update_size)
        self.filters.valueChanged.connect(self._update_size)
        self._update_size()

    def options(self) -> dict:
        """Keyword arguments for :func:`render_pipeline`."""
        n = self.filters.value()
        return dict(filters=n or None, scale=self.scale.value(), theme=self.theme.currentText())

    def _update_size(self) -> None:
        opts = self.options()
        try:
            layout = pipeline_layout(pipeline_data(self.state, opts["filters"]))
        except ValueError as exc:
            self.size_label.setText(str(exc))
            return
        w, h = layout.pixel_size(opts["scale"])
        self.size_label.setText(f"{w} × {h} px")


class Exports(QtCore.QObject):
    """The File → Export menu of a main window."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.folder = ""
        menu = self.menu = QtWidgets.QMenu("&Export", window)
        panels = (
            ("Input panel as PNG…", "input.png", window.input_panel),
            ("Kernel maps panel as PNG…", "kernel_maps_panel.png", window.sum_panel),
            ("All filters as PNG…", "all_filters.png", window.filters_panel),
        )
        self.panel_actions = [
            menu.addAction(title, lambda n=name, p=panel: self.save_panel(p, n))
            for title, name, panel in panels
        ]
        self.figure_action = menu.addAction("Pipeline figure…", self.save_figure)
        menu.addSeparator()
        arrays = (
            ("Input as .npy (H, W, C_in)…", "input.npy", export_input),
            (
                "Kernel maps of the selected filter as .npy (H', W', C_in // groups)…",
                "kernel_maps.npy",
                export_kernel_maps,
            ),
            ("Feature maps as .npy (H', W', filters)…", "feature_maps.npy", export_feature_maps),
        )
        self.array_actions = [
            menu.addAction(title, lambda n=name, w=write: self.save_array(n, w))
            for title, name, write in arrays
        ]
        window.file_menu.insertMenu(window.quit_separator, menu)

    # -- asking where -------------------------------------------------------------------------
    def _ask(self, caption: str, name: str, file_filter: str, suffix: str) -> Path | None:
        start = str(Path(self.folder) / name) if self.folder else name
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, caption, start, file_filter)
        if not path:
            return None
        path = with_suffix(path, suffix)
        self.folder = str(path.parent)
        return path

    def _failed(self, what: str, path: Path, exc: Exception) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        QtWidgets.QMessageBox.warning(
            self.window,
            "Export failed",
            plain(f"Could not save {what} as {display_name(path)}:\n{reason}"),
        )

    def _done(self, path: Path) -> None:
        self.window.show_message(f"Saved {display_name(path, full=True)}")

    # -- the exports ------------------------------------------------------------------------
    def save_panel(self, panel: QtWidgets.QWidget, name: str) -> Path | None:
        path = self._ask("Save panel as PNG", name, PNG_FILTER, ".png")
        if path is None:
            return None
        try:
            write_bytes(path, png_bytes(panel.grab()))
        except OSError as exc:
            self._failed("the panel", path, exc)
            return None
        self._done(path)
        return path

    def save_figure(self) -> Path | None:
        state = self.window.controller.state()
        dialog = FigureDialog(state, self.window)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        path = self._ask("Save pipeline figure", "pipeline.png", PNG_FILTER, ".png")
        if path is None:
            return None
        try:
            write_bytes(path, png_bytes(render_pipeline(state, **dialog.options())))
        except (OSError, ValueError) as exc:
            self._failed("the figure", path, exc)
            return None
        self._done(path)
        return path

    def save_array(self, name: str, write) -> Path | None:
        path = self._ask("Save array as .npy", name, NPY_FILTER, ".npy")
        if path is None:
            return None
        try:
            write(path, self.window.controller.state())
        except (OSError, ValueError) as exc:
            self._failed(name.removesuffix(".npy").replace("_", " "), path, exc)
            return None
        self._done(path)
        return path


def install_exports(window) -> Exports:
    """Add File → Export to ``window`` (a MainWindow), before its Quit item."""
    return Exports(window)
