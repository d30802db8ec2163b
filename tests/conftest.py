import os
import tempfile

# Tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests and the app processes they start never touch the user's settings or recovery file.
_private = tempfile.mkdtemp(prefix="convviz-tests-")
os.environ.setdefault("CONVVIZ_RECOVERY_DIR", os.path.join(_private, "recovery"))
os.environ.setdefault("CONVVIZ_SETTINGS_FILE", os.path.join(_private, "settings.ini"))
