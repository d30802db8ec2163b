"""The network's layers: a tool bar of tabs (beside the brush's) that
chooses whose insides are shown, and the Layer menu that adds and removes layers.

Layer 1's feature maps are layer 2's input channels: with layer 2 chosen, the input
panel shows them (read-only) and every panel shows layer 2's kernels, maps and sums.
The bar shows itself once the network has a second layer; it takes no row of its own
from the maps on a projector's screen.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.frames import Frame
from convviz.core.stack import MAX_LAYERS


def _shape(shape) -> str:
    h, w, c = shape
    return f"{h}×{w}×{c}" if h * w else "empty"


class LayerBar(QtWidgets.QToolBar):
    """``Network · input 28×28×1 | 1 Conv2D(2, 3×3) → 26×26×2 | 2 MaxPooling2D(2×2) → …``:
    one tab per layer; a Conv2D layer's tab shows its insides, a pooling layer has none.
    On a narrow screen the tabs scroll rather than widen the window."""

    layerChosen = QtCore.Signal(int)  # from 0

    def __init__(self, parent=None):
        super().__init__("Layers", parent)
        self.setObjectName("layer_toolbar")
        self.setMovable(False)
        self.toggleViewAction().setVisible(False)  # it shows itself when there are layers
        self.presenting = lambda: False  # the presentation view hides every tool bar
        self.title = QtWidgets.QLabel()
        self.title.setContentsMargins(6, 0, 4, 0)
        self.addWidget(self.title)
        self.tabs = QtWidgets.QTabBar()
        self.tabs.setExpanding(False)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
        self.tabs.setDrawBase(False)
        self.tabs.currentChanged.connect(self._chosen)
        self.tabs.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.addWidget(self.tabs)
        self._key = None
        self._showing = 0
        self.hide()

    def _chosen(self, index: int) -> None:
        if index >= 0 and index != self._showing:
            self.layerChosen.emit(index)
            # The controller's next frame moves the tab; until then (or when it refused)
            # the tab stays on the layer shown.
            with QtCore.QSignalBlocker(self.tabs):
                self.tabs.setCurrentIndex(self._showing)

    def show_network(self, frame: Frame) -> None:
        key = (frame.layers, frame.shown, frame.network_input_shape)
        if key == self._key:
            return
        self._key = key
        rows = frame.layers
        if not self.presenting():
            self.setVisible(len(rows) > 1)
        self.title.setText("<b>Layers</b>")
        self.title.setToolTip(f"The network's input is {_shape(frame.network_input_shape)}")
        self._showing = frame.shown
        with QtCore.QSignalBlocker(self.tabs):
            while self.tabs.count():
                self.tabs.removeTab(0)
            reads = frame.network_input_shape
            for i, row in enumerate(rows):
                self.tabs.addTab(f"{row.number}  {row.text} → {_shape(row.output_shape)}")
                if row.kind == "Conv2D":
                    self.tabs.setTabEnabled(i, bool(reads[0] * reads[1]))
                    kernels = f"{reads[2]} kernel{'s' if reads[2] != 1 else ''}"
                    tip = (
                        f"Show layer {row.number}'s insides: {row.output_shape[2]} filters, "
                        f"each with {kernels}, one per channel it reads"
                    )
                else:
                    self.tabs.setTabEnabled(i, False)
                    tip = (
                        f"Layer {row.number} keeps the largest value of each window of every "
                        "channel: it has no kernels to show"
                    )
                self.tabs.setTabToolTip(i, tip)
                reads = row.output_shape
            self.tabs.setCurrentIndex(frame.shown)


def install_layer_bar(window) -> LayerBar:
    """The bar above the panels, and the Layer menu before View."""
    c = window.controller
    bar = LayerBar(window)
    # After the brush's, on its row: the brush keeps its controls whole, and the tabs,
    # which scroll when they are many, stay where they are whichever layer is shown.
    window.addToolBar(bar)
    bar.layerChosen.connect(c.show_layer)
    menu = QtWidgets.QMenu("&Layer", window)
    window.menuBar().insertMenu(window.view_menu.menuAction(), menu)
    window.layer_menu = menu
    add_conv = menu.addAction("Add a Conv2D layer at the end", lambda: c.add_layer("conv"))
    add_conv.setStatusTip(
        "Four filters of 3×3 whose kernels read the last layer's feature maps, one kernel per map"
    )
    add_pool = menu.addAction("Add a MaxPooling2D layer at the end", lambda: c.add_layer("pool"))
    remove = menu.addAction("Remove the last layer", c.remove_last_layer)
    menu.addSeparator()
    previous = menu.addAction("Show the Conv2D layer before", lambda: _step(window, -1))
    previous.setShortcut(QtGui.QKeySequence("Alt+PgUp"))
    following = menu.addAction("Show the Conv2D layer after", lambda: _step(window, 1))
    following.setShortcut(QtGui.QKeySequence("Alt+PgDown"))
    window.layer_actions = dict(
        add_conv=add_conv, add_pool=add_pool, remove=remove, previous=previous, next=following
    )

    def update(frame: Frame) -> None:
        n = len(frame.layers)
        add_conv.setEnabled(n < MAX_LAYERS)
        add_pool.setEnabled(n < MAX_LAYERS)
        remove.setEnabled(n > 1)
        convs = [i for i, r in enumerate(frame.layers) if r.kind == "Conv2D"]
        previous.setEnabled(any(i < frame.shown for i in convs))
        following.setEnabled(any(i > frame.shown for i in convs))
        bar.show_network(frame)

    window.frameShown.connect(update)
    if c.frame is not None:
        update(c.frame)

    def after_presenting() -> None:
        bar._key = None  # the network may have changed while the tool bars were hidden
        if c.frame is not None and not bar.presenting():
            update(c.frame)

    def hook_presentation() -> None:  # the presentation view is installed after the bar
        view = getattr(window, "presentation", None)
        if view is not None:
            bar.presenting = lambda: view.active
            view.modeChanged.connect(after_presenting)

    QtCore.QTimer.singleShot(0, hook_presentation)
    return bar


def _step(window, delta: int) -> None:
    frame = window.controller.frame
    if frame is None:
        return
    convs = [i for i, r in enumerate(frame.layers) if r.kind == "Conv2D"]
    later = [i for i in convs if (i - frame.shown) * delta > 0]
    if later:
        window.controller.show_layer(min(later) if delta > 0 else max(later))
