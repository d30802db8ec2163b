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


def test_the_command_line_is_checked_without_qt():
    # A bad argument is refused before Qt (or a display) is needed; both parsers live Qt-free.
    code = BLOCK_QT.replace("print('ok')", "") + (
        "import convviz.cli as cli\n"
        "args = cli.parse_args(['--filters', '3', '--preset', 'sobel-y'])\n"
        "assert (args.filters, args.preset) == (3, 'sobel y'), args\n"
        "parser = cli.render_parser()\n"
        "render = parser.parse_args(['in.png', '-o', 'out.png'])\n"
        "cli.check_render_args(parser, render)\n"
        "cli.parse_args(['--filters', '99'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr  # argparse's refusal of --filters 99
    assert "--filters must be between 1 and 16" in out.stderr
    assert "Qt imported" not in out.stderr
