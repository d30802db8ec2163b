"""``convviz render FILE -o figure.png``: the pipeline figure without opening a window.

FILE is anything the app opens: an image or array (the layer is then the app's first
screen, Keras' ``Conv2D(2, 3, activation='relu')``) or a ``.convviz`` session. ``--filters
N`` shows the first N filters, one row each; for an image or array it also sets the
layer's number of filters, with new filters drawn exactly as the app draws them, so
``convviz render x.png --filters 3`` shows the weights ``convviz x.png --filters 3``
opens with. Errors print one clear line to stderr and exit with status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from convviz.cli import check_render_args, render_parser
from convviz.core.model import Document, LayerSettings, default_document
from convviz.core.words import count
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError, read_input
from convviz.io.session import SUFFIX as SESSION_SUFFIX
from convviz.qt.platform_check import missing_window_library


def _session_state(path: Path) -> dict:
    try:
        from convviz.io.session import load_session
    except ImportError:
        raise InputError(
            f"{display_name(path)}: this version of convviz cannot open {SESSION_SUFFIX} "
            "sessions yet"
        ) from None
    return load_session(path).state


def load_state(path, *, filters: int | None, preset: str | None, max_side: int) -> dict:
    """The document state to draw for FILE and the options, built as the app builds it.

    Raises
    ------
    InputError
        When the file cannot be opened.
    ValueError
        When the options do not fit the document (e.g. more filters than a session has).
    """
    from convviz.qt.control.controller import Controller

    path = Path(path)
    if path.suffix.lower() == SESSION_SUFFIX:
        # The figure shows the layer the session shows.
        doc = Document.from_network(_session_state(path))
        if filters is not None and filters > doc.settings.filters:
            raise ValueError(
                f"{display_name(path)} has {count(doc.settings.filters, 'filter')}: "
                f"cannot show {filters}"
            )
    else:
        # The layer the figure shows, checked against the memory budget before reading.
        layer = LayerSettings(**({} if filters is None else {"filters": filters}))
        loaded = read_input(path, max_side=max_side, settings=layer)
        doc = default_document(loaded.array, loaded.channel_names)
    # The controller applies options exactly as the app's command line does.
    controller = Controller(doc)
    if filters is not None and path.suffix.lower() != SESSION_SUFFIX:
        controller.change_settings(filters=filters)
    if preset is not None:
        controller.apply_preset(preset, scope="layer")
    return controller.state()


def _ensure_gui_application():
    from PySide6 import QtGui

    app = QtGui.QGuiApplication.instance()
    if app is None:
        display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        # A figure needs no window: without one (or a library for one), draw offscreen.
        if (not display or missing_window_library()) and not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QtGui.QGuiApplication(["convviz render"])
    return app


def main(argv=None) -> int:
    """Run ``convviz render``; returns the exit status (0 written, 2 error)."""
    parser = render_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        check_render_args(parser, args)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return int(exc.code or 0)
    _app = _ensure_gui_application()  # fonts need it; it must outlive the painting
    from convviz.io.export import write_bytes
    from convviz.qt.export.figure import png_bytes, render_pipeline

    try:
        state = load_state(
            args.file, filters=args.filters, preset=args.preset, max_side=args.max_side
        )
        image = render_pipeline(state, filters=args.filters, scale=args.scale, theme=args.theme)
    except InputError as exc:  # its message already names the file
        print(f"convviz render: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"convviz render: {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        out = write_bytes(args.output, png_bytes(image))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"convviz render: cannot write {args.output}: {reason}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({image.width()}×{image.height()} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
