"""Start convviz: ``convviz [PATH] [--sample NAME] [--preset NAME] [--filters N] ...``."""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import traceback

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from convviz.cli import parse_args
from convviz.core.model import Document, LayerSettings, default_document
from convviz.io.inputs import InputError, read_input
from convviz.io.samples import load_sample
from convviz.io.session import SUFFIX as SESSION_SUFFIX
from convviz.io.session import load_session
from convviz.qt.base.plain_text import plain
from convviz.qt.platform_check import missing_window_library

log = logging.getLogger("convviz")

DEFAULT_SAMPLE = "colour"


def make_excepthook(window_getter, errors: list | None = None):
    """A ``sys.excepthook`` that logs an exception escaping a slot and shows it.

    Qt keeps running after the hook returns, so the lesson on screen is not lost. With
    ``errors`` (a scripted run, such as ``--screenshot``) the exception is appended to
    it instead of shown: no dialog waits for a click, and the exit status tells.
    """

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error:\n%s", text)
        if errors is not None:
            errors.append(text)
            return
        window = window_getter()
        if window is not None:
            QtWidgets.QMessageBox.critical(
                window,
                "Something went wrong",
                plain(
                    f"{exc_type.__name__}: {exc}\n\nYour work is still open. Details were logged."
                ),
            )

    return hook


def build_window(args):
    """The main window for parsed arguments (also used by tests)."""
    from convviz.qt.control.controller import Controller
    from convviz.qt.main_window import MainWindow
    from convviz.qt.sessions.manager import install_sessions
    from convviz.qt.training.dock import install_training

    session = None
    if args.path and str(args.path).lower().endswith(SESSION_SUFFIX):
        session = load_session(args.path)
        loaded = None
    elif args.path:
        settings = LayerSettings(**({} if args.filters is None else {"filters": args.filters}))
        loaded = read_input(args.path, max_side=args.max_side, settings=settings)
    else:
        loaded = load_sample("colour" if args.sample == "color" else args.sample or DEFAULT_SAMPLE)
    if session is not None:
        doc = Document.from_network(session.state)
    else:
        doc = default_document(loaded.array, loaded.channel_names)
    controller = Controller(doc)
    window = MainWindow(controller, max_side=args.max_side)
    if loaded is not None and loaded.notice:
        window.show_message(loaded.notice)
    if args.filters is not None:
        controller.change_settings(filters=args.filters)
    if args.preset is not None:
        controller.apply_preset(args.preset, scope="layer")
    controller.history.clear()
    window.training = install_training(window)
    if args.screenshot:
        # A scripted screenshot neither restores the user's window layout nor offers a
        # crash recovery: it gets settings and a recovery folder of its own.
        scratch = tempfile.mkdtemp(prefix="convviz-screenshot-")
        settings = QtCore.QSettings(
            os.path.join(scratch, "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
        window.sessions = install_sessions(window, settings=settings, recovery_dir=scratch)
    else:
        window.sessions = install_sessions(window)
    if session is not None:
        window.sessions.open_session(args.path)  # title, lesson text, recent files
    if args.size is not None:  # wins over the size the window had last
        window.start_at_size(*args.size)
    if args.present:
        window.presentation.enter()
    controller.refresh_now()
    return window


def freeze_startup_objects() -> None:
    """Leave what the window is built of out of the garbage collector's full passes: a
    full pass over its 75,000 objects holds the window for 25 ms, at a moment nobody
    chooses (measured on a 512x512 input)."""
    gc.collect()
    gc.freeze()


def configure_pyqtgraph() -> None:
    # Arrays are (rows, cols[, channels]) everywhere in convviz.
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "render":  # headless figure, no window
        from convviz.qt import render_cli

        return render_cli.main(argv[1:])
    args = parse_args(argv)
    missing = missing_window_library()
    if missing:  # Qt would abort the process with a hint lost among other lines
        print(f"convviz: {missing}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    configure_pyqtgraph()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("convviz")
    app.setOrganizationName("convviz")
    holder = {}
    errors = [] if args.screenshot else None
    sys.excepthook = make_excepthook(lambda: holder.get("window"), errors)
    try:
        window = build_window(args)
    except InputError as exc:  # a bad PATH on the command line: say so, open nothing
        print(f"convviz: {exc}", file=sys.stderr)
        return 2
    holder["window"] = window
    window.show()
    QtCore.QTimer.singleShot(0, freeze_startup_objects)
    if args.screenshot:

        def shoot():
            app.processEvents()
            if window.controller.computing:  # a large layer: shoot it once it is drawn
                QtCore.QTimer.singleShot(50, shoot)
                return
            window.editor.finish_echo()
            ok = window.grab().save(args.screenshot)
            print(f"saved {args.screenshot}" if ok else f"could not write {args.screenshot}")
            if errors:
                print(
                    f"convviz: {len(errors)} error(s) while running, logged above", file=sys.stderr
                )
            app.exit(0 if ok and not errors else 1)

        QtCore.QTimer.singleShot(300, shoot)
    return app.exec()
