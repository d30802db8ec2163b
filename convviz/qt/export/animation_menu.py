"""File → Export → "Sliding-window animation…": the dialog, the progress and the errors.

The frames themselves come from :mod:`convviz.qt.export.animation`; this module asks
what to write and where, shows a progress dialog that can be cancelled, and reports the
outcome. A cancel or an error leaves no file behind.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.words import count
from convviz.io.export import with_suffix
from convviz.io.file_names import display_name
from convviz.qt.base.plain_text import plain
from convviz.qt.base.views import ok_cancel
from convviz.qt.export.animation import (
    AnimationCancelled,
    default_every,
    frame_steps,
    old_frames,
    plan_animation,
    write_gif,
    write_png_sequence,
)
from convviz.qt.export.figure import pipeline_data, pipeline_layout

ACTION_TEXT = "Sliding-window animation…"
FORMATS = {"animated GIF": "gif", "PNG sequence (frame_0001.png, …)": "png"}
GIF_FILTER = "GIF animations (*.gif)"


class AnimationDialog(QtWidgets.QDialog):
    """Format, frames, frame duration and scale of the animation, with its size."""

    def __init__(self, state: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Sliding-window animation")
        f = state["selected_filter"]
        data = pipeline_data(state)
        self.layout_ = pipeline_layout(data)
        self.n_steps = data.output_shape[0] * data.output_shape[1]
        form = QtWidgets.QFormLayout(self)
        form.addRow(QtWidgets.QLabel(f"filter {f + 1}: one step per output pixel, row by row"))
        self.format = QtWidgets.QComboBox()
        self.format.addItems(FORMATS)
        self.every = QtWidgets.QSpinBox(minimum=1, maximum=max(1, self.n_steps))
        self.every.setValue(default_every(self.n_steps))
        self.every.setPrefix("one frame every ")
        self.every.setSuffix(" step(s)")
        self.duration = QtWidgets.QSpinBox(minimum=20, maximum=5000, singleStep=10)
        self.duration.setValue(80)
        self.duration.setSuffix(" ms")
        self.scale = QtWidgets.QDoubleSpinBox(minimum=0.5, maximum=4.0, singleStep=0.5)
        self.scale.setValue(1.0)
        self.scale.setSuffix(" ×")
        self.summary = QtWidgets.QLabel()
        form.addRow("format", self.format)
        form.addRow(f"frames ({count(self.n_steps, 'step')})", self.every)
        form.addRow("each frame shows for", self.duration)
        form.addRow("scale (pixels per unit)", self.scale)
        form.addRow("result", self.summary)
        buttons = ok_cancel(self)
        form.addRow(buttons)
        self.every.valueChanged.connect(self._update_summary)
        self.scale.valueChanged.connect(self._update_summary)
        self._update_summary()

    def options(self) -> dict:
        """format ("gif" or "png"), every, duration_ms and scale."""
        return dict(
            format=FORMATS[self.format.currentText()],
            every=self.every.value(),
            duration_ms=self.duration.value(),
            scale=self.scale.value(),
        )

    def frame_count(self) -> int:
        return len(frame_steps(self.n_steps, self.every.value()))

    def _update_summary(self) -> None:
        w, h = self.layout_.pixel_size(self.scale.value())
        self.summary.setText(f"{count(self.frame_count(), 'frame')} of {w} × {h} px")


class AnimationExport(QtCore.QObject):
    """The "Sliding-window animation…" action of a window's File → Export menu."""

    def __init__(self, window, menu: QtWidgets.QMenu):
        super().__init__(window)
        self.window = window
        self.folder = ""
        self.action = QtGui.QAction(ACTION_TEXT, menu)
        self.action.triggered.connect(lambda: self.export())
        # Right after "Pipeline figure…", the other picture of the whole pipeline.
        actions = menu.actions()
        figure = next((a for a in actions if a.text() == "Pipeline figure…"), None)
        after = None
        if figure is not None and figure is not actions[-1]:
            after = actions[actions.index(figure) + 1]
        if after is not None:
            menu.insertAction(after, self.action)
        else:
            menu.addAction(self.action)

    # -- asking -------------------------------------------------------------------------------
    def ask_target(self, fmt: str) -> Path | None:
        """Where to write: a .gif file, or a folder for the PNG frames (None: cancelled)."""
        start = self.folder or str(Path.home())
        if fmt == "gif":
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self.window, "Save animation", str(Path(start) / "sliding_window.gif"), GIF_FILTER
            )
            return with_suffix(path, ".gif") if path else None
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self.window, "Folder for the PNG frames", start
        )
        if not path:
            return None
        old = old_frames(path)
        if old:
            answer = QtWidgets.QMessageBox.question(
                self.window,
                "Replace frames?",
                plain(
                    f"{display_name(path, full=True)} already holds {len(old)} "
                    "frame_NNNN.png files. Replace them?"
                ),
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return None
        return Path(path)

    # -- exporting ------------------------------------------------------------------------------
    def export(self, options: dict | None = None, target=None) -> Path | None:
        """Ask (unless given) the options and the target, then write with a progress dialog.

        Returns the GIF or folder written, or None when cancelled or failed.
        """
        state = self.window.controller.state()
        if options is None:
            try:
                dialog = AnimationDialog(state, self.window)
            except ValueError as exc:  # e.g. an empty output
                self._failed("the animation", exc)
                return None
            if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return None
            options = dialog.options()
        fmt = options["format"]
        target = self.ask_target(fmt) if target is None else Path(target)
        if target is None:
            return None
        self.folder = str(target.parent if fmt == "gif" else target)
        progress = QtWidgets.QProgressDialog("Drawing frames…", "Cancel", 0, 1, self.window)
        progress.setWindowTitle("Sliding-window animation")
        progress.setWindowModality(QtCore.Qt.WindowModality.ApplicationModal)
        progress.setMinimumDuration(0)

        def report(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            return not progress.wasCanceled()

        try:
            plan = plan_animation(state, every=options["every"], scale=options["scale"])
            if fmt == "gif":
                write_gif(target, plan, options["duration_ms"], report)
            else:
                write_png_sequence(target, plan, report)
        except AnimationCancelled:
            self.window.show_message("Animation export cancelled: nothing was written")
            return None
        except (OSError, ValueError) as exc:
            self._failed(display_name(target), exc)
            return None
        finally:
            progress.close()
            progress.deleteLater()
        self.window.show_message(
            f"Saved {count(len(plan.steps), 'frame')} to {display_name(target, full=True)}"
        )
        return target

    def _failed(self, name: str, exc: Exception) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        QtWidgets.QMessageBox.warning(
            self.window,
            "Export failed",
            plain(f"Could not save the animation as {name}:\n{reason}"),
        )


def export_menu(window) -> QtWidgets.QMenu:
    """The window's File → Export submenu."""
    exports = getattr(window, "exports", None)
    if exports is not None:
        return exports.menu
    for action in window.file_menu.actions():
        if action.menu() is not None and action.menu().title().replace("&", "") == "Export":
            return action.menu()
    raise LookupError("the window has no File → Export menu: call install_exports first")


def install_animation_export(window) -> AnimationExport:
    """Add "Sliding-window animation…" to ``window``'s File → Export menu."""
    return AnimationExport(window, export_menu(window))
