"""Export of the weights (File menu) and the code snippets of the "Code for this layer" dialog."""

from __future__ import annotations

from PySide6 import QtWidgets

from convviz.core.explain_code import keras_code, pytorch_code
from convviz.core.sequential_code import keras_sequential_code, pytorch_sequential_code
from convviz.io.weights import export_weights
from convviz.qt.base.plain_text import plain

_FILTERS = {
    "Keras layout, kh×kw×C_in/groups×filters (*.npy)": "keras",
    "PyTorch layout, filters×C_in/groups×kh×kw (*.npy)": "pytorch",
}


class WeightsExport:
    """Writes the document's weights for a framework and remembers the last Keras export,
    which the code snippets load when the kernel is too large to paste as literals."""

    def __init__(self, window):
        self.window = window
        self._last = None  # (files, what they were exported from)

    def _weights(self):
        """Copies of the kernel and of the bias (None without ``use_bias``), and the
        settings."""
        controller = self.window.controller
        kernel, bias = controller.weights()
        settings = controller.layer_settings()
        return kernel, bias if settings.use_bias else None, settings

    def export_to(self, path, layout: str) -> list | None:
        """Export in ``layout`` ("keras" or "pytorch"); on failure say why, return None."""
        kernel, bias, settings = self._weights()
        try:
            files = export_weights(path, kernel, bias, layout, settings.flip_kernel)
        except (OSError, ValueError) as exc:
            QtWidgets.QMessageBox.warning(self.window, "Cannot export the weights", plain(exc))
            return None
        if layout == "keras":
            self._last = (files, self._key())
        self.window.show_message("Exported " + ", ".join(str(p) for p in files))
        return files

    def _key(self):
        kernel, bias, settings = self._weights()
        return (kernel.tobytes(), None if bias is None else bias.tobytes(), settings)

    def export_dialog(self) -> None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.window,
            "Export weights (the bias goes to NAME_bias.npy)",
            "weights.npy",
            ";;".join(_FILTERS),
        )
        if path:
            self.export_to(path, _FILTERS.get(chosen, "keras"))

    def snippets(self) -> dict[str, str]:
        """Keras and PyTorch code for the layer, keyed by tab title; for a network of
        several layers, code for the whole network too (a Sequential model)."""
        kernel, bias, settings = self._weights()
        shape = self.window.controller.input_shape()
        # Exported files are used only while they still hold exactly these weights.
        files = self._last[0] if self._last and self._last[1] == self._key() else None
        out = {}
        for title, make in (("Keras", keras_code), ("PyTorch", pytorch_code)):
            try:
                out[title] = make(kernel, bias, settings, shape, files=files)
            except ValueError as exc:
                out[title] = f"# {exc}\n"
        input_shape, layers = self.window.controller.network_layers()
        if len(layers) > 1:
            for title, make in (
                ("Keras network", keras_sequential_code),
                ("PyTorch network", pytorch_sequential_code),
            ):
                try:
                    out[title] = make(input_shape, layers)
                except ValueError as exc:
                    out[title] = f"# {exc}\n"
        return out
