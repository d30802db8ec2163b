"""Words on screen: plurals, titles, one number format for one value."""

from pathlib import Path

import numpy as np

from convviz.qt import render_cli
from tests.qt.helpers import settle

LESSON_1 = Path(__file__).resolve().parents[2] / "resources" / "lessons" / "01-one-kernel.convviz"


def test_the_bias_reads_the_same_in_its_cell_and_in_the_sum(window, qtbot):
    bias = window.editor.bias_cell()
    for value in (-0.00793, 123.456, 1 / 3, -2e-5):
        window.controller.set_bias(value)
        settle(window)
        label = window.sum_panel.bias_label.text
        label = label() if callable(label) else label
        assert f"<br>{bias.text()} =" in label, (value, bias.text(), label)
    assert bias.text() == "-2e-5"


def test_a_one_pixel_output_has_one_step(window):
    c = window.controller
    c.change_settings(kernel_size=(11, 11))
    c.change_settings(padding=(0, 0, 0, 0))
    c.open_state(dict(c.state(), input=np.zeros((11, 11, 3), np.float32)))
    settle(window)
    assert window.controller.frame.output_shape[:2] == (1, 1)
    assert window.inspector.anim.label.text() == "1 step, one per output pixel"
    assert window.inspector.anim.speed.itemText(0) == "1 step/s"


def test_render_names_one_filter_in_the_singular(qapp, tmp_path, capsys):
    out = tmp_path / "f.png"
    assert render_cli.main([str(LESSON_1), "--filters", "2", "-o", str(out)]) == 2
    assert "01-one-kernel.convviz has 1 filter: cannot show 2" in capsys.readouterr().err
