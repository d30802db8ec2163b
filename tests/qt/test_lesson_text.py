"""Lesson text is untrusted: rendering it reads no file or URL, links open only in a browser.

Hostile paths (/dev/zero grows memory without end, a FIFO blocks forever) are rendered
in a child process with a memory cap and a timeout, so a regression fails the test
instead of taking the machine or the suite down.
"""

import base64
import io
import os
import subprocess
import sys
import textwrap

import pytest
from PIL import Image
from PySide6 import QtCore, QtGui

from convviz.qt.sessions.lesson_dock import MAX_IMAGE_BYTES, LessonDock, LessonText

CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    from PySide6 import QtWidgets
    app = QtWidgets.QApplication([])
    from convviz.qt.sessions.lesson_dock import LessonText
    shown = []
    for label, kind, source in [line.split("\\t") for line in sys.stdin.read().splitlines()]:
        text = LessonText()
        shown.append(text)
        text.resize(500, 400)
        text.show()
        if kind == "html":
            text.setHtml(source)
        else:
            text.show_markdown(source)
        text.grab()
        text.document().size()
        print(label, len(text.refused), flush=True)
    """
)


def _png(w, h, mode="RGB", colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h), colour).save(out, "PNG", optimize=True)
    return out.getvalue()


def _data_uri(data: bytes, kind="image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def test_hostile_paths_are_never_opened(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = [
        ("dev-zero", "md", "![x](/dev/zero)"),
        ("fifo", "md", f"![x]({fifo})"),
        ("fifo-relative", "md", "![x](fifo)"),
        ("file-url", "md", f"![x](file://{fifo})"),
        ("html-img", "html", '<p>a <img src="/dev/zero"> b</p>'),
        ("html-file-url", "html", f'<img src="file://{fifo}">'),
        ("css-background", "html", '<table background="/dev/zero"><tr><td>x</td></tr></table>'),
        ("style-sheet", "html", '<link rel="stylesheet" href="/dev/zero"><p>x</p>'),
    ]
    run = subprocess.run(
        [sys.executable, "-c", CHILD],
        input="\n".join("\t".join(case) for case in cases),
        cwd=tmp_path,  # "fifo" relative to the working directory
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=300,  # a FIFO opened for reading blocks until then
    )
    assert run.returncode == 0, run.stderr[-2000:]
    done = dict(line.split() for line in run.stdout.splitlines())
    assert list(done) == [label for label, _, _ in cases]
    assert done.pop("style-sheet") == "0"  # not an image: answered with empty text
    assert set(done.values()) == {"1"}  # every image refused


@pytest.fixture
def lesson(qtbot):
    text = LessonText()
    qtbot.addWidget(text)
    text.resize(500, 400)
    text.show()
    qtbot.waitExposed(text)
    return text


def _images(text: LessonText) -> list[QtGui.QImage]:
    """Every image the document shows, as the text layout got it."""
    doc, found = text.document(), []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isImageFormat():
                url = QtCore.QUrl(fmt.toImageFormat().name())
                found.append(doc.resource(QtGui.QTextDocument.ResourceType.ImageResource, url))
            it += 1
        block = block.next()
    return found


@pytest.mark.parametrize("form", ["path", "file-url", "html"])
def test_a_local_image_file_is_not_shown(lesson, tmp_path, form):
    path = tmp_path / "red.png"
    path.write_bytes(_png(300, 200))
    if form == "html":
        lesson.setHtml(f'<p><img src="{path}"></p>')
    else:
        lesson.show_markdown(f"![red]({'file://' if form == 'file-url' else ''}{path})")
    lesson.grab()
    (image,) = _images(lesson)
    assert image.size() == QtCore.QSize(24, 24)  # the placeholder, not the 300×200 file
    assert lesson.document().size().height() < 150
    assert "data: URIs" in next(iter(lesson.refused.values()))


def test_an_image_embedded_in_the_lesson_is_shown(lesson):
    lesson.show_markdown(f"Sobel:\n\n![kernel]({_data_uri(_png(40, 30))})")
    lesson.grab()
    (image,) = _images(lesson)
    assert image.size() == QtCore.QSize(40, 30)
    assert image.pixelColor(5, 5) == QtGui.QColor(200, 30, 30)
    assert lesson.refused == {}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (_png(6000, 6000), "6000×6000 pixels is too large"),  # 144 MB once decoded
        (b"\x89PNG" + b"\0" * (MAX_IMAGE_BYTES + 10), "larger than 1 MB"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><image href='/dev/zero'/></svg>", "type"),
        (b"not an image at all", "cannot be read"),
    ],
)
def test_an_embedded_image_too_large_or_not_an_image_is_refused_before_decoding(lesson, data, why):
    kind = "image/svg+xml" if data.startswith(b"<svg") else "image/png"
    lesson.show_markdown(f"![big]({_data_uri(data, kind)})")
    lesson.grab()
    (image,) = _images(lesson)
    assert image.size() == QtCore.QSize(24, 24)
    assert why in next(iter(lesson.refused.values()))


def _click_first_link(qtbot, text: LessonText) -> None:
    cursor = QtGui.QTextCursor(text.document())
    cursor.setPosition(2)
    point = text.cursorRect(cursor).center()
    assert text.anchorAt(point), "no link under the click"
    qtbot.mouseClick(text.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("https://keras.io/api/layers/convolution_layers/", True),
        ("http://example.org/conv", True),
        ("file:///etc/passwd", False),
        ("/etc/passwd", False),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>replaced</b>", False),
    ],
)
def test_links_open_in_the_browser_only_for_http_and_never_replace_the_text(
    lesson, qtbot, monkeypatch, url, opened
):
    calls = []
    monkeypatch.setattr(QtGui.QDesktopServices, "openUrl", lambda u: calls.append(u) or True)
    lesson.show_markdown(f"[Read about it here, please]({url})\n\nThe lesson goes on.")
    before = lesson.toPlainText()
    _click_first_link(qtbot, lesson)
    qtbot.wait(50)  # let a queued navigation happen, if anything queued one
    assert lesson.toPlainText() == before
    assert lesson.source().isEmpty()
    assert [u.toString() for u in calls] == ([url] if opened else [])


def test_the_lesson_dock_renders_through_lesson_text(qtbot, tmp_path):
    dock = LessonDock()
    qtbot.addWidget(dock)
    assert isinstance(dock.text, LessonText)
    dock.show_lesson(f"## Hello\n\n![x]({tmp_path / 'missing.png'})")
    assert not dock.text.openLinks()
    dock.grab()
    assert dock.text.refused
