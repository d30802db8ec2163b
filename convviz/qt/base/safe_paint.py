"""Paint code that cannot kill the application.

PySide6 does not pass an exception raised inside a ``paint()`` or ``paintEvent()``
override to ``sys.excepthook``: the process dies (SIGSEGV in PySide6 6.11), taking the
lesson on screen with it. Every such override in convviz is wrapped in
:func:`never_raises`, which logs the first failure of each method and lets the item draw
nothing more for that paint. A test checks that no override goes without it.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter

log = logging.getLogger(__name__)

failures: Counter[str] = Counter()
"""Failed paints since start by ``"Class.method"`` (tests assert that none happen). Only
the first failure of each is logged: a broken paint fails again on every frame."""


def never_raises(paint):
    """Decorate a ``paint(self, painter, option, widget)`` or ``paintEvent(self, event)``.

    An exception is caught, logged (once per method) and counted in `failures`; the
    painter of a ``QGraphicsItem.paint`` gets its state back, so items drawn after this
    one are not drawn with a transform or pen left behind.
    """

    @functools.wraps(paint)
    def guarded(self, *args, **kwargs):
        painter = args[0] if args and hasattr(args[0], "save") else None
        if painter is not None:
            painter.save()
        try:
            paint(self, *args, **kwargs)
        except Exception:  # anything raised here would be fatal
            where = f"{type(self).__name__}.{paint.__name__}"
            if not failures[where]:
                log.exception("drawing %s failed; it is left blank", where)
            failures[where] += 1
        finally:
            if painter is not None:
                painter.restore()

    guarded.never_raises = True
    return guarded
