"""The benchmark module runs and writes what it prints."""

import json

import numpy as np
import pytest

from convviz import bench
from tests.core.test_conv import reference_conv, reference_padding


def test_bench_core_rows():
    rows = bench.bench_core(cases=[(8, 9, 2, 3)], repeats=2, with_torch=False)
    assert [r["case"] for r in rows] == ["8x9x2 k3 f8"]
    assert rows[0]["numpy"]["median_ms"] > 0 and rows[0]["torch"] is None
    assert "8x9x2 k3 f8" in bench.format_table(rows)


def test_main_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "CORE_CASES", ((6, 6, 1, 3), (16, 12, 3, 7)))
    path = tmp_path / "bench.json"
    assert bench.main(["--quick", "--no-torch", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert [r["case"] for r in data["core"]] == ["6x6x1 k3 f8", "16x12x3 k7 f8"]
    assert data["machine"]["cpus"] >= 1
    assert "16x12x3 k7 f8" in capsys.readouterr().out


@pytest.mark.parametrize(("shape", "k", "rows"), [((9, 11, 2), 3, None), ((12, 7, 3), 5, 4)])
def test_floor_products_compute_the_layer_sums(shape, k, rows):
    """The floor is only meaningful if every timed formulation computes the real sums."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    kernel = rng.standard_normal((k, k, shape[2], 4)).astype(np.float32)
    pad = reference_padding("same", shape[:2], (k, k), (1, 1), (1, 1))
    _, pre = reference_conv(x, kernel, None, (1, 1), pad, (1, 1), 1, "zeros", False)
    expected = pre.transpose(2, 0, 1)[:, :rows]
    for by, (run, sums) in bench.floor_products(x, kernel, rows).items():
        run()
        np.testing.assert_allclose(sums(), expected, rtol=1e-5, atol=1e-5, err_msg=by)


def test_floor_column_in_table():
    rows = bench.bench_core(cases=[(8, 9, 2, 3)], repeats=2, with_torch=False, with_floor=True)
    assert rows[0]["floor"]["median_ms"] > 0
    assert rows[0]["floor_by"].split(",")[0] in {"im2col", "per kernel row", "row products"}
    assert rows[0]["floor_by"] in bench.format_table(rows)
