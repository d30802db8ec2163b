"""The command line: the arguments of ``convviz`` and ``convviz render``, checked.

Qt-free, so that parsing and refusing bad arguments never needs a display; the app
(``convviz.qt.app``) and the headless figure (``convviz.qt.render_cli``) both read
their arguments from here, and neither imports the other to do so.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from convviz import __version__
from convviz.core.model import MAX_FILTERS
from convviz.core.presets import KERNEL_PRESETS, canonical_preset
from convviz.io.samples import SAMPLES


def check_layer_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a --filters out of range; turn --preset into its canonical name."""
    if args.filters is not None and not 1 <= args.filters <= MAX_FILTERS:
        parser.error(f"--filters must be between 1 and {MAX_FILTERS}")
    if args.preset is not None:
        try:
            args.preset = canonical_preset(args.preset)
        except ValueError as exc:
            parser.error(str(exc))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments of the app (``convviz [PATH] ...``), checked."""
    parser = argparse.ArgumentParser(
        prog="convviz",
        description="See inside a Conv2D layer: kernels, filters, kernel maps, feature maps.",
    )
    parser.add_argument(
        "path", nargs="?", help="an image (PNG, JPEG, ...), a .npy/.npz array or a .convviz session"
    )
    parser.add_argument(
        "--sample", choices=list(SAMPLES) + ["color"], help="open a built-in sample input"
    )
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="kernel preset for every filter: " + ", ".join(KERNEL_PRESETS),
    )
    parser.add_argument(
        "--filters", type=int, metavar="N", help=f"number of filters (1 to {MAX_FILTERS})"
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=256,
        metavar="PX",
        help="downscale loaded images whose longest side exceeds this (at least 1)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="render the window once computed, save it as PNG and exit",
    )
    parser.add_argument(
        "--size",
        metavar="WxH",
        help="window size, e.g. 1920x1080 (default: fit the screen, or the size it had last)",
    )
    parser.add_argument(
        "--present",
        action="store_true",
        help="start in the presentation view (full screen; Esc leaves it)",
    )
    parser.add_argument("--version", action="version", version=f"convviz {__version__}")
    args = parser.parse_args(argv)
    check_layer_options(parser, args)
    if args.max_side < 1:
        parser.error("--max-side must be at least 1")
    if args.size is not None:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            parser.error("--size takes WIDTHxHEIGHT, e.g. 1920x1080")
        if w < 1 or h < 1:
            parser.error("--size takes a width and height of at least 1 pixel")
        args.size = (w, h)
    return args


MAX_SCALE = 8.0


def render_parser() -> argparse.ArgumentParser:
    """The arguments of ``convviz render``."""
    parser = argparse.ArgumentParser(
        prog="convviz render",
        description="Draw the pipeline figure (channels → kernels → kernel maps → sum + bias"
        " → activation → feature map) of an input or session as a PNG, without a window.",
    )
    parser.add_argument(
        "file", metavar="FILE", help="an image, .npy/.npz array or .convviz session"
    )
    parser.add_argument("-o", "--output", required=True, metavar="FIGURE.png", help="PNG to write")
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="kernel preset for every filter: " + ", ".join(KERNEL_PRESETS),
    )
    parser.add_argument(
        "--filters",
        type=int,
        metavar="N",
        help=f"show the first N filters (1 to {MAX_FILTERS}); default: the selected filter",
    )
    parser.add_argument(
        "--scale", type=float, default=2.0, metavar="S", help="pixels per unit, like a dpi factor"
    )
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument(
        "--max-side",
        type=int,
        default=256,
        metavar="PX",
        help="downscale images whose longest side exceeds this (as the app does)",
    )
    return parser


def check_render_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what ``convviz render`` cannot draw, before any file is read."""
    check_layer_options(parser, args)
    if not 0 < args.scale <= MAX_SCALE:
        parser.error(f"--scale must be above 0 and at most {MAX_SCALE:g}")
    if args.max_side < 1:
        parser.error("--max-side must be at least 1")
    if Path(args.output).suffix.lower() != ".png":
        parser.error(f"the figure is written as PNG: name the output *.png, not {args.output}")
