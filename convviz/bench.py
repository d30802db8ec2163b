"""Benchmarks: ``python -m convviz.bench [--quick] [--floor] [--gui] [--json PATH]``.

`bench_core` times what the app recomputes on every edit: `conv2d` with all feature
maps plus the kernel maps of one filter. When torch is importable it times
``torch.nn.functional.conv2d`` (plus bias and ReLU) on the same data in the same run,
the reference the core is held to (issue target: at most 1.5 times its time).

`--floor` also times the matrix products alone, on inputs gathered beforehand: the
least any numpy formulation of the layer built on them could take, on this machine's
BLAS. See `floor_products`.
"""

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convviz.core.conv import conv2d, conv_geometry, pad_input

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


def floor_products(
    x: np.ndarray, kernel: np.ndarray, rows: int | None = None
) -> dict[str, tuple[Callable, Callable]]:
    """Three ways to get a layer's sums (no bias) from matrix products, for one block.

    For stride 1, dilation 1 and padding "same", on the first `rows` output rows (all
    of them by default). Each value is ``(run, sums)``: `run` performs only the matrix
    products, on input windows gathered when this function is called, so that a block
    small enough stays in cache as it would in a real pipeline; `sums` then assembles
    their results into the ``(filters, rows, W')`` sums, for checking.

    - ``im2col``: one product over all kh*kw*C taps;
    - ``per kernel row``: kh products over kw*C taps each;
    - ``row products``: one product with a row for each (kernel row, filter) pair over
      kw*C taps, for every input row; kernel rows are then output-row shifts.
    """
    kh, kw, c, f = kernel.shape
    geom = conv_geometry(x.shape, (kh, kw), 1, "same", 1)
    w = geom.output_size[1]
    h = geom.output_size[0] if rows is None else rows
    planes = np.ascontiguousarray(pad_input(x, geom.padding).transpose(2, 0, 1))
    p_c, p_y, p_x = planes.strides

    def windows(n_rows, row_offset=0):
        view = as_strided(planes[:, row_offset:], (c, kw, n_rows, w), (p_c, p_x, p_y, p_x))
        return np.ascontiguousarray(view).reshape(c * kw, n_rows * w)

    all_taps = np.stack([windows(h, i).reshape(c, kw, h * w) for i in range(kh)], axis=1)
    all_taps = all_taps.reshape(c * kh * kw, h * w)
    w_all = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1).reshape(f, c * kh * kw))
    out_all = np.empty((f, h * w), np.float32)
    per_row = [windows(h, i) for i in range(kh)]
    w_rows = [np.ascontiguousarray(k_i.transpose(2, 1, 0).reshape(f, c * kw)) for k_i in kernel]
    out_rows = np.empty((kh, f, h * w), np.float32)
    taller = windows(h + kh - 1)
    w_pairs = np.ascontiguousarray(kernel.transpose(0, 3, 2, 1).reshape(kh * f, c * kw))
    out_pairs = np.empty((kh, f, (h + kh - 1) * w), np.float32)

    def run_rows():
        for i in range(kh):
            np.matmul(w_rows[i], per_row[i], out=out_rows[i])

    def pair_sums():
        return sum(out_pairs[i, :, i * w : (i + h) * w] for i in range(kh)).reshape(f, h, w)

    return {
        "im2col": (
            lambda: np.matmul(w_all, all_taps, out=out_all),
            lambda: out_all.reshape(f, h, w),
        ),
        "per kernel row": (run_rows, lambda: out_rows.sum(axis=0).reshape(f, h, w)),
        "row products": (
            lambda: np.matmul(w_pairs, taller, out=out_pairs.reshape(kh * f, -1)),
            pair_sums,
        ),
    }


def gemm_floor(x: np.ndarray, kernel: np.ndarray, repeats: int) -> tuple[dict, str]:
    """The fastest of `floor_products`, over blocks of 1/1, 1/4, 1/16 and 1/64 of the rows.

    Returns the timing of the whole layer's products (a block's time times the number
    of blocks) and ``"formulation, N rows"`` for the fastest.
    """
    h = x.shape[0]
    best = None
    for rows in sorted({max(1, h // d) for d in (1, 4, 16, 64)}):
        for by, (run, _) in floor_products(x, kernel, rows).items():
            t = {key: v * h / rows for key, v in time_call(run, repeats).items()}
            if best is None or t["median_ms"] < best[0]["median_ms"]:
                best = (t | {"repeats": repeats}, f"{by}, blocks of {rows} rows")
    return best


def _bench_data(cases):
    rng = np.random.default_rng(0)
    data = []
    for h, w, c, k in CORE_CASES if cases is None else cases:
        x = rng.standard_normal((h, w, c)).astype(np.float32)
        kernel = rng.standard_normal((k, k, c, FILTERS)).astype(np.float32)
        bias = rng.standard_normal(FILTERS).astype(np.float32)
        data.append((f"{h}x{w}x{c} k{k} f{FILTERS}", x, kernel, bias))
    return data


def bench_core(
    cases: Sequence[tuple[int, int, int, int]] | None = None,
    repeats: int = 30,
    with_torch: bool = True,
    with_floor: bool = False,
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
    with_floor : bool
        Also time `gemm_floor` as ``floor``.

    Returns
    -------
    list of dict
        One row per case with ``numpy``, ``floor`` and ``torch`` timings (None when
        not run), the name of the fastest floor formulation (``floor_by``) and the
        ``ratio`` of the numpy and torch medians.
    """
    data = _bench_data(cases)
    # All numpy runs first, then all torch runs: interleaved, the worker threads that
    # one library leaves spinning after a call slow the other one down on 2 cores.
    rows = []
    for name, x, kernel, bias in data:

        def ours(x=x, kernel=kernel, bias=bias):
            return conv2d(x, kernel, bias, padding="same", activation="relu", kernel_map_filters=0)

        rows.append({"case": name, "numpy": time_call(ours, repeats), "torch": None})
        rows[-1] |= {"floor": None, "floor_by": None}
        if with_floor:
            floor, by = gemm_floor(x, kernel, repeats)
            rows[-1] |= {"floor": floor, "floor_by": by}
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

    floor = any(r.get("floor") for r in rows)
    head = f"{'case':<22}{'numpy med':>10}{'p95':>10}{'torch med':>10}{'p95':>10}{'ratio':>7}"
    if floor:
        head += f"{'floor med':>10}{'/torch':>7}  fastest products"
    lines = [head]
    for r in rows:
        ratio = f"{r['ratio']:7.2f}" if r["ratio"] is not None else f"{'-':>7}"
        line = (
            f"{r['case']:<22} {ms(r['numpy'], 'median_ms')} {ms(r['numpy'], 'p95_ms')}"
            f" {ms(r['torch'], 'median_ms')} {ms(r['torch'], 'p95_ms')}{ratio}"
        )
        if floor and r.get("floor"):
            f_ratio = (
                f"{r['floor']['median_ms'] / r['torch']['median_ms']:7.2f}"
                if r["torch"]
                else f"{'-':>7}"
            )
            line += f" {ms(r['floor'], 'median_ms')}{f_ratio}  {r['floor_by']}"
        lines.append(line)
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
    parser.add_argument("--floor", action="store_true", help="also time the matrix products alone")
    parser.add_argument(
        "--gui", action="store_true", help="also time edit-to-screen in the real window"
    )
    args = parser.parse_args(argv)
    info = machine_info()
    print("machine:", ", ".join(f"{k}={v}" for k, v in info.items()))
    rows = bench_core(
        repeats=8 if args.quick else 30, with_torch=not args.no_torch, with_floor=args.floor
    )
    print("conv2d: all feature maps + kernel maps of one filter (times in ms)")
    if args.floor:
        print("floor: the matrix products alone, fastest formulation and block size")
    print(format_table(rows))
    result = {"machine": info, "core": rows}
    if args.gui:
        from convviz.qt.bench_gui import (
            bench_gui,
            bench_stack,
            bench_stalls,
            format_gui_table,
            format_stalls,
        )

        gui_rows = bench_gui(repeats=5 if args.quick else 15)
        print("edit to screen in the main window, padding same (times in ms)")
        print(format_gui_table(gui_rows))
        result["gui"] = gui_rows
        stack_rows = bench_stack(repeats=5 if args.quick else 15)
        print(format_gui_table(stack_rows))
        result["stack"] = stack_rows
        stalls = bench_stalls()
        print(format_stalls(stalls))
        result["stalls"] = stalls
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
