"""The shipped lessons' files: built from the shipped samples and weights, written as
sessions. ``python -m convviz.io.lesson_files [FOLDER]`` regenerates them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from convviz.core.lessons import LESSONS, Lesson, build_lesson, lesson_path
from convviz.core.resources import resource_dir
from convviz.io.model_weights import load_weights
from convviz.io.samples import load_sample
from convviz.io.session import save_session


def shipped_lesson(lesson: Lesson) -> dict[str, Any]:
    """The document of `lesson` from the shipped sample (and weights, for trained ones)."""
    layer = None
    if lesson.weights is not None:
        layer = load_weights(resource_dir() / "models" / lesson.weights)[0]
    return build_lesson(lesson, load_sample(lesson.sample).array, layer)


def write_lessons(folder: Path | None = None) -> list[Path]:
    """Generate every lesson's session file into ``folder`` (default: the shipped one)."""
    folder = resource_dir() / "lessons" if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        save_session(
            folder / lesson_path(lesson).name, shipped_lesson(lesson), lesson=lesson.markdown
        )
        for lesson in LESSONS
    ]


if __name__ == "__main__":
    for written_path in write_lessons(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written_path)
