"""The main window's menus: File, Edit, Kernels, View and Help, the channel and kernel
menus that follow the frame shown, and the Help menu's dialogs (a mixin of
:class:`~convviz.qt.main_window.MainWindow`).
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from convviz.core.frames import Frame
from convviz.io.samples import SAMPLES
from convviz.qt.help_dialog import HelpDialog, about_text


class WindowMenus:
    """The menu bar, and what its actions do that is the window's own."""

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.file_menu = bar.addMenu("&File")
        act = file_menu.addAction("&Open input…", self.open_dialog)
        act.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        samples = file_menu.addMenu("&Samples")
        for name, description in SAMPLES.items():
            samples.addAction(f"{name} — {description}", lambda n=name: self.load_sample(n))
        act = file_menu.addAction("&New blank input…", self.new_blank_dialog)
        act.setShortcut(QtGui.QKeySequence.StandardKey.New)
        self.alpha_action = file_menu.addAction("Keep alpha as a channel when loading")
        self.alpha_action.setCheckable(True)
        self.alpha_action.toggled.connect(lambda on: setattr(self, "keep_alpha", on))
        self.quit_separator = file_menu.addSeparator()
        act = file_menu.addAction("&Quit", self.close)
        # The platform's Quit keys; some platforms define none, so Ctrl+Q then.
        quit_keys = QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.Quit)
        act.setShortcuts(quit_keys or [QtGui.QKeySequence("Ctrl+Q")])

        edit = self.edit_menu = bar.addMenu("&Edit")
        self.undo_action = edit.addAction("Undo", self.controller.undo)
        self.undo_action.setShortcuts(QtGui.QKeySequence.StandardKey.Undo)
        self.redo_action = edit.addAction("Redo", self.controller.redo)
        self.redo_action.setShortcuts(QtGui.QKeySequence.StandardKey.Redo)
        self.undo_action.setIconText("Undo")  # the help's name; the text names the edit
        self.redo_action.setIconText("Redo")
        edit.addSeparator()
        brush = edit.addMenu("Brush")
        for action in self.brush.key_actions():
            brush.addAction(action)
        self.clear_menu = edit.addMenu("Clear channel")
        self.fill_menu = edit.addMenu("Fill channel with brush value")
        self._update_undo_actions()

        kernels = self.kernels_menu = bar.addMenu("&Kernels")
        for scope, title in (
            ("filter", "Preset for the selected filter"),
            ("layer", "Preset for all filters"),
        ):
            sub = kernels.addMenu(title)
            for name in self.layer_panel.preset_names():
                sub.addAction(
                    name, lambda n=name, s=scope: self.controller.apply_preset(n, scope=s)
                )
        self.kernel_preset_menu = kernels.addMenu("Preset for one kernel")
        kernels.addSeparator()
        # Alt+arrows: kernel cells keep the plain and Ctrl arrows, Page keys nudge.
        self.next_filter_action = kernels.addAction("Next filter", lambda: self.step_filter(1))
        self.next_filter_action.setShortcut(QtGui.QKeySequence("Alt+Right"))
        self.previous_filter_action = kernels.addAction(
            "Previous filter", lambda: self.step_filter(-1)
        )
        self.previous_filter_action.setShortcut(QtGui.QKeySequence("Alt+Left"))

        self.view_menu = bar.addMenu("&View")
        help_menu = self.help_menu = bar.addMenu("&Help")
        act = help_menu.addAction("convviz &help", self.show_help)
        act.setShortcuts(QtGui.QKeySequence.StandardKey.HelpContents)
        help_menu.addAction("Kernel or filter?", self._explain)
        self.about_action = QtGui.QAction("&About convviz", self)
        self.about_action.triggered.connect(self.show_about)

    def _rebuild_channel_menus(self, frame: Frame) -> None:
        key = (frame.channel_names, frame.kernel_channel_names, frame.selected)
        if getattr(self, "_menu_key", None) == key:
            return
        self._menu_key = key
        for menu, value in ((self.clear_menu, None), (self.fill_menu, "brush")):
            menu.clear()
            for i, name in enumerate(frame.channel_names):
                menu.addAction(name, lambda i=i, v=value: self._fill(i, v))
            menu.addAction("all channels", lambda v=value: self._fill(-1, v))
        self.kernel_preset_menu.clear()
        for k, name in enumerate(frame.kernel_channel_names):
            sub = self.kernel_preset_menu.addMenu(
                f"kernel {k + 1} of filter {frame.selected + 1} (acts on {name})"
            )
            for preset in self.layer_panel.preset_names():
                sub.addAction(
                    preset,
                    lambda p=preset, k=k: self.controller.apply_preset(
                        p, scope="kernel", kernel_index=k
                    ),
                )

    def step_filter(self, delta: int) -> None:
        """Select the next (``delta=1``) or previous (-1) filter, wrapping around."""
        c = self.controller
        c.select_filter((c.selected_filter() + delta) % c.layer_settings().filters)

    def _fill(self, channel: int, value) -> None:
        self.controller.fill_channel(channel, 0.0 if value is None else self.brush.value.value())

    def _update_undo_actions(self) -> None:
        h = self.controller.history
        self.undo_action.setEnabled(h.undo_label is not None)
        self.undo_action.setText(f"Undo {h.undo_label}" if h.undo_label else "Undo")
        self.redo_action.setEnabled(h.redo_label is not None)
        self.redo_action.setText(f"Redo {h.redo_label}" if h.redo_label else "Redo")

    # -- the Help menu's dialogs ----------------------------------------------------------
    def show_help(self) -> HelpDialog:
        self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        return self.help_dialog

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About convviz", about_text())

    def _explain(self) -> None:
        QtWidgets.QMessageBox.information(
            self,
            "Kernel or filter?",
            "A kernel is one kh×kw matrix that slides over ONE input channel.\n\n"
            "A filter is the stack of C_in kernels, one per input channel; their C_in kernel "
            "maps are summed, the bias is added and the activation applied, giving ONE "
            "feature map.\n\nConv2D(filters, kernel_size) has `filters` such filters: the "
            "output has shape (H', W', filters) and the kernel tensor (kh, kw, C_in, filters).",
        )
