import subprocess
import sys

BLOCK_QT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
            raise ImportError('Qt imported from the Qt-free part: ' + name)
sys.meta_path.insert(0, Block())
import convviz
import convviz.core.brush, convviz.core.commands, convviz.core.levels, convviz.core.model
import convviz.core.presets, convviz.core.numbers, convviz.io.inputs, convviz.io.samples
import convviz.core.training, convviz.core.lessons, convviz.core.explain, convviz.io.session
import convviz.io.export, convviz.io.weights, convviz.io.model_weights
import convviz.core.digit_data, convviz.core.trained_example
print('ok')
"""


def test_core_and_io_import_without_qt():
    # The model, the arithmetic and file loading must stay usable (and testable) without Qt.
    out = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
