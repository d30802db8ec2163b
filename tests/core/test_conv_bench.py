"""The benchmark module runs and writes what it prints."""

import json

from convviz import bench


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
