"""Help → convviz help (F1) and Help → About convviz.

The list of keys is read from the window's menus when the help opens, so it always
names the shortcuts the actions really have on this platform.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from convviz import __version__

# Keys that belong to a view rather than to a menu entry.
VIEW_KEYS = (
    ("click a kernel cell, type, Enter", "replace its value (-1.5, 1e-3 and 1/9 all work)"),
    ("Tab, Shift+Tab, ↑, ↓", "move between kernel cells"),
    ("Page Up, Page Down, wheel, drag up/down", "nudge a kernel value by 0.1"),
    ("Shift / Ctrl with a nudge", "×10 / ÷10"),
    ("Esc in a cell", "put the typed value back"),
    ("←, →, ↑, ↓", "move the pinned pixel"),
    ("Esc", "unpin the pixel; during a brush stroke, cancel it"),
    ("Space", "play or pause the sliding window; ← and → step it"),
)

OVERVIEW = (
    "<p>The window reads left to right, in the order the data flows through a "
    "<code>Conv2D</code> layer: the <b>input</b> channels; the <b>kernels</b> of the "
    "selected filter, one per input channel; each kernel's <b>kernel map</b>; their "
    "<b>sum + bias</b>; the <b>activation</b>; and that filter's <b>feature map</b>. On the "
    "right, the feature maps of <b>all filters</b> and the layer's settings.</p>"
    "<p>A <b>kernel</b> is one kh×kw matrix over ONE input channel. A <b>filter</b> is the "
    "stack of its kernels: their maps are summed, the bias added and the activation applied, "
    "giving ONE feature map.</p>"
    "<p>Paint on an input channel with the mouse. Hover a map pixel to read its value; click "
    "it (or press the <i>Pin a pixel</i> key) to pin it and see its arithmetic, number by "
    "number.</p>"
    "<p>The <b>Layer</b> menu adds layers after this one: layer 1's feature maps are layer "
    "2's input channels, so each filter of layer 2 holds one kernel per feature map of layer "
    "1. The layer tabs beside the brush choose whose insides are shown; the brush paints the "
    "network's input, shown above a deeper layer's own.</p>"
)


def _keys(action: QtGui.QAction) -> str:
    """The action's first key, and the other ones typed with Ctrl (not media keys such as
    Save, nor legacy ones such as Alt+Backspace)."""
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    keys = [s for s in action.shortcuts() if not s.isEmpty()]
    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    kept = keys[:1] + [s for s in keys[1:] if s[0].keyboardModifiers() & ctrl]
    return " or ".join(s.toString(native) for s in kept)


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str]]:
    """(keys, menu › entry) for every menu entry of ``window`` that has a shortcut."""
    rows = []

    def walk(menu: QtWidgets.QMenu, path: str) -> None:
        for action in menu.actions():
            text = action.iconText()  # the text without "&", fixed where the text changes
            if action.menu() is not None:
                walk(action.menu(), f"{path} › {text}")
            elif not action.isSeparator() and _keys(action):
                rows.append((_keys(action), f"{path} › {text}"))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    return rows


def help_html(window: QtWidgets.QMainWindow) -> str:
    """The help text: what the window shows, then every key."""

    def table(rows):
        cells = "".join(
            f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td></tr>"
            for keys, what in rows
        )
        return f'<table cellspacing="0" cellpadding="3">{cells}</table>'

    return (
        f"<h3>convviz {html.escape(__version__)}: inside a Conv2D layer</h3>{OVERVIEW}"
        f"<h4>Keys of the menus</h4>{table(shortcut_rows(window))}"
        f"<h4>Keys and gestures in the views</h4>{table(VIEW_KEYS)}"
    )


class HelpDialog(QtWidgets.QDialog):
    """The help text in a scrolling, resizable window that fits the screen."""

    def __init__(self, window: QtWidgets.QMainWindow):
        super().__init__(window)
        self.setWindowTitle("convviz help")
        lay = QtWidgets.QVBoxLayout(self)
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setHtml(help_html(window))
        lay.addWidget(self.text, 1)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        room = window.size()
        self.resize(min(720, room.width() - 40), min(640, room.height() - 40))


def about_text() -> str:
    return (
        f"<h3>convviz {html.escape(__version__)}</h3>"
        "<p>See inside a convolutional layer: the kernels, filters, kernel maps and feature "
        "maps of a Keras <code>Conv2D</code> layer, computed as Keras computes them.</p>"
        f"<p>Qt {html.escape(QtCore.qVersion())} · MIT licence</p>"
    )
