import os
import tempfile

from hypothesis import HealthCheck, settings

# Tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests and the app processes they start never touch the user's settings or recovery file.
_private = tempfile.mkdtemp(prefix="convviz-tests-")
os.environ.setdefault("CONVVIZ_RECOVERY_DIR", os.path.join(_private, "recovery"))
os.environ.setdefault("CONVVIZ_SETTINGS_FILE", os.path.join(_private, "settings.ini"))

# A busy machine runs an example many times slower than an idle one: no deadline and no
# "too slow" health check, so whether a property test passes depends on the data only.
settings.register_profile("patient", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI explores the same examples on every run, so a result there is reproducible; a
# developer's run keeps exploring new ones.
settings.register_profile(
    "ci", parent=settings.get_profile("patient"), derandomize=True, database=None
)
settings.load_profile("ci" if os.environ.get("CI") else "patient")


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
