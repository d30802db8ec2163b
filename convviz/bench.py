"""Benchmarks: ``python -m convviz.bench [--quick] [--gui] [--json PATH]``.

`bench_core` times what the app recomputes on every edit: `conv2d` with all feature
maps plus the kernel maps of one filter. When torch is importable it times
``torch.nn.functional.conv2d`` (plus bias and ReLU) on the same data in the same run,
the reference the core is held to (issue target: at most 1.5 times its time).
"""

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from convviz.core.conv import conv2d

# (height, width, channels, kernel size); every case has 8 filters.
CORE_CASES = (
    (28, 28, 1, 3),
    (28, 28, 1, 7),
    (256, 256, 3, 3),
    (256, 256, 3, 7),
    (512, 512, 3, 3),
    (512, 512, 3, 7),
)
FILTERS = 8


def time_call(fn: Callable[[], object], repeats: int, warmup: int = 2) -> dict:
    """Time `fn` and return its median, 95th percentile and minimum in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return {
        "median_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
        "min_ms": min(times),
        "repeats": repeats,
    }


def _torch_layer(x, kernel, bias):
    """A closure running the same layer in torch, or None if torch is missing."""
    try:
        import torch
    except ImportError:
        return None
    tx = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
    tw = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    tb = torch.from_numpy(bias)

    def run():
        with torch.no_grad():
            return torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding="same"))

    return run


def bench_core(
    cases: Sequence[tuple[int, int, int, int]] | None = None,
    repeats: int = 30,
    with_torch: bool = True,
) -> list[dict]:
    """Time `conv2d` (and torch, when available) on each case.

    Parameters
    ----------
    cases : sequence of (H, W, C, k), optional
        Input size, channels and square kernel size (default `CORE_CASES`); 8
        filters, padding "same", ReLU, with bias, kernel maps of filter 0 only.
    repeats : int
        Timed runs per case (after two warm-up runs).
    with_torch : bool
        Also time torch.nn.functional.conv2d if torch can be imported.

    Returns
    -------
    list of dict
        One row per case with ``numpy`` and ``torch`` timings (None when not run)
        and their ``ratio`` of medians.
    """
    rng = np.random.default_rng(0)
    data = []
    for h, w, c, k in CORE_CASES if cases is None else cases:
        x = rng.standard_normal((h, w, c)).astype(np.float32)
        kernel = rng.standard_normal((k, k, c, FILTERS)).astype(np.float32)
        bias = rng.standard_normal(FILTERS).astype(np.float32)
        data.append((f"{h}x{w}x{c} k{k} f{FILTERS}", x, kernel, bias))
    # All numpy runs first, then all torch runs: interleaved, the worker threads that
    # one library leaves spinning after a call slow the other one down on 2 cores.
    rows = []
    for name, x, kernel, bias in data:

        def ours(x=x, kernel=kernel, bias=bias):
            return conv2d(x, kernel, bias, padding="same", activation="relu", kernel_map_filters=0)

        rows.append({"case": name, "numpy": time_call(ours, repeats), "torch": None})
    for row, (_, x, kernel, bias) in zip(rows, data, strict=True):
        torch_run = _torch_layer(x, kernel, bias) if with_torch else None
        if torch_run is not None:
            row["torch"] = time_call(torch_run, repeats)
    for row in rows:
        row["ratio"] = (
            row["numpy"]["median_ms"] / row["torch"]["median_ms"] if row["torch"] else None
        )
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of `bench_core` as a plain-text table."""

    def ms(t, key):
        return f"{t[key]:9.3f}" if t else f"{'-':>9}"

    lines = [
        f"{'case':<22}{'numpy med':>10}{'p95':>10}{'torch med':>10}{'p95':>10}{'ratio':>7}",
    ]
    for r in rows:
        ratio = f"{r['ratio']:7.2f}" if r["ratio"] is not None else f"{'-':>7}"
        lines.append(
            f"{r['case']:<22} {ms(r['numpy'], 'median_ms')} {ms(r['numpy'], 'p95_ms')}"
            f" {ms(r['torch'], 'median_ms')} {ms(r['torch'], 'p95_ms')}{ratio}"
        )
    return "\n".join(lines)


def machine_info() -> dict:
    """What the numbers depend on."""
    info = {"cpus": os.cpu_count(), "machine": platform.machine(), "numpy": np.__version__}
    info["python"] = platform.python_version()
    try:
        import torch

        info |= {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    except ImportError:
        pass
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m convviz.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    parser.add_argument(
        "--gui", action="store_true", help="also time edit-to-screen in the real window"
    )
    args = parser.parse_args(argv)
    info = machine_info()
    print("machine:", ", ".join(f"{k}={v}" for k, v in info.items()))
    rows = bench_core(repeats=8 if args.quick else 30, with_torch=not args.no_torch)
    print("conv2d: all feature maps + kernel maps of one filter (times in ms)")
    print(format_table(rows))
    result = {"machine": info, "core": rows}
    if args.gui:
        from convviz.qt.bench_gui import bench_gui, format_gui_table

        gui_rows = bench_gui(repeats=5 if args.quick else 15)
        print("edit to screen in the main window, 8 filters, padding same (times in ms)")
        print(format_gui_table(gui_rows))
        result["gui"] = gui_rows
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
