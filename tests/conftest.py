import os
import tempfile

from hypothesis import settings

# Tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests and the app processes they start never touch the user's settings or recovery file.
_private = tempfile.mkdtemp(prefix="convviz-tests-")
os.environ.setdefault("CONVVIZ_RECOVERY_DIR", os.path.join(_private, "recovery"))
os.environ.setdefault("CONVVIZ_SETTINGS_FILE", os.path.join(_private, "settings.ini"))

# CI explores the same examples on every run, so a result there is reproducible; a
# developer's run keeps exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_sessionfinish(session, exitstatus):
    """Delete every window while Qt is still whole, before the interpreter tears down.

    Left to interpreter shutdown, Qt objects can be destroyed after the application
    object they need, which crashes the process after the tests have passed.
    """
    import sys

    if "PySide6.QtWidgets" not in sys.modules:
        return
    import gc

    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()
    gc.collect()
