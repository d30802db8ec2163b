"""The built-in lessons: scenes a teacher walks through in class, one idea each.

Each lesson is a session file in ``resources/lessons/`` whose lesson text is shown beside
the views. The files are generated here from the shipped samples and the kernel presets,
so their content is verifiable (a test checks that every shipped file equals what
:func:`build_lesson` makes); regenerate them with ``python -m convviz.io.lesson_files``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from convviz.core.model import LayerSettings, default_channel_names
from convviz.core.presets import glorot_uniform, make_kernel
from convviz.core.resources import SESSION_SUFFIX, resource_dir
from convviz.core.stack import ConvLayer


@dataclass(frozen=True)
class Lesson:
    """One built-in lesson.

    Attributes
    ----------
    key : str
        File stem in ``resources/lessons/``.
    title : str
        Menu entry and heading.
    text : str
        The explanation (3 to 6 sentences).
    sample : str
        The built-in sample used as input.
    settings : LayerSettings
    kernels : tuple of tuple of str
        Per filter, the preset of each of its kernels; ``"random (glorot uniform)"``
        draws the whole kernel tensor once with ``seed``, as Keras' initializer does.
    seed : int
        Seed of that draw; the training dock's "random (Glorot uniform)" start with the
        same seed draws the same kernels.
    weights : str or None
        A weights file in ``resources/models/`` whose first Conv2D layer gives the
        kernels and biases instead of presets (``kernels`` is then empty).
    later : tuple of (LayerSettings, kernels)
        Conv2D layers after the first, each with its kernels' presets as ``kernels``.
    shown : int
        The layer the lesson opens on, from 0.
    """

    key: str
    title: str
    text: str
    sample: str
    settings: LayerSettings
    kernels: tuple[tuple[str, ...], ...]
    seed: int = 0
    weights: str | None = None
    later: tuple[tuple[LayerSettings, tuple[tuple[str, ...], ...]], ...] = ()
    shown: int = 0

    @property
    def markdown(self) -> str:
        """Title and text as stored in the session's lesson field."""
        return f"### {self.title}\n\n{self.text}"


LESSONS = (
    Lesson(
        "01-one-kernel",
        "1. One channel, one kernel",
        "The input is a 28×28 grey digit: one channel, so the single filter of this "
        "Conv2D(1, 3) layer holds exactly one kernel, a 3×3 Sobel x. The kernel slides over "
        "the channel; at each position it multiplies the 9 pixels under it by its 9 weights "
        "and adds the products, giving one value of the kernel map. With one channel there "
        "is nothing else to sum: kernel map + bias is the pre-activation, and ReLU keeps its "
        "positive part (edges where dark turns bright to the right) as the feature map. "
        "Without padding a 3×3 kernel fits 26 times along 28 pixels, so the output is "
        "(H', W', filters) = (26, 26, 1).",
        "digit",
        LayerSettings(kernel_size=(3, 3), filters=1, activation="relu"),
        (("sobel x",),),
    ),
    Lesson(
        "02-colour-one-filter",
        "2. Colour input: three kernels make one filter",
        "A colour input has three channels, R, G and B, so each filter holds three kernels, "
        "one per input channel: the kernel tensor is (kh, kw, C_in, filters) = (3, 3, 3, 1). "
        "Here kernel 1 (Sobel x) slides over R, kernel 2 (Sobel y) over G and kernel 3 "
        "(Laplacian) over B, giving three kernel maps. The filter adds the three kernel maps "
        "and its bias into ONE map; with the linear activation that sum is the feature map "
        "itself. Each shape's edges survive the sum, found by the kernel of its own channel: "
        "a filter never outputs one map per colour.",
        "colour",
        LayerSettings(kernel_size=(3, 3), filters=1, activation="linear"),
        (("sobel x", "sobel y", "laplacian"),),
    ),
    Lesson(
        "03-several-filters",
        "3. Several filters: one feature map each",
        "Conv2D(4, 3) on the colour input has four filters, each a stack of three 3×3 "
        "kernels (one per input channel), so the kernel tensor is (kh, kw, C_in, filters) = "
        "(3, 3, 3, 4), plus one bias per filter: 3·3·3·4 + 4 = 112 parameters. Every filter "
        "sums its three kernel maps into one feature map, so the output (H', W', filters) = "
        "(62, 62, 4) has one channel per filter, not per input channel. Filter 1 uses Sobel "
        "x, filter 2 Sobel y, filter 3 the Laplacian and filter 4 a Gaussian blur, on all "
        "three channels. Click a feature map on the right to select its filter and see its "
        "kernels and kernel maps. A next layer would read these 4 feature maps as a "
        "4-channel input.",
        "colour",
        LayerSettings(kernel_size=(3, 3), filters=4, activation="relu"),
        (("sobel x",) * 3, ("sobel y",) * 3, ("laplacian",) * 3, ("gaussian",) * 3),
    ),
    Lesson(
        "04-stride-padding",
        "4. Stride and padding: how H' and W' come out",
        "The digit and the Sobel x kernel of lesson 1, now with strides=2 and "
        "padding='same'. The stride is the kernel's step: moving 2 pixels at a time it "
        "visits every other position, so the feature map is about half as tall and wide. "
        "padding='same' adds just enough zero rows and columns that H' = ceil(H / stride) = "
        "ceil(28 / 2) = 14 (here one row at the bottom and one column on the right, where "
        "Keras puts an odd one). With padding='valid' it would be H' = floor((H − kh) / "
        "stride) + 1 = floor(25 / 2) + 1 = 13. Switch the padding and the strides and watch "
        "(H', W', filters) above the feature maps.",
        "digit",
        LayerSettings(kernel_size=(3, 3), filters=1, strides=(2, 2), padding="same"),
        (("sobel x",),),
    ),
    Lesson(
        "05-dilation",
        "5. Dilation: a wider view with the same weights",
        "dilation_rate=2 spreads the 9 weights of the filter's 3×3 Sobel x kernel two pixels "
        "apart: "
        "it still has 9 weights but spans (kh − 1)·d + 1 = 5 pixels each way. Without "
        "padding the output is H' = H − (kh − 1)·d = 28 − 4 = 24, so the feature map is "
        "(24, 24, 1), two pixels smaller on each side than in lesson 1. In general H' = "
        "floor((H + padding − (kh − 1)·d − 1) / stride) + 1. Keras refuses a stride above 1 "
        "together with a dilation above 1, which is why this lesson keeps strides=1. Set "
        "dilation_rate back to 1 to compare: same weights, finer edges.",
        "digit",
        LayerSettings(kernel_size=(3, 3), filters=1, dilation=(2, 2)),
        (("sobel x",),),
    ),
    Lesson(
        "06-depthwise",
        "6. Depthwise or standard: summed or not",
        "The three kernels of lesson 2 again, but in Conv2D(3, 3, groups=3): with groups = "
        "C_in each filter holds C_in / groups = 1 kernel and reads only its own channel, so "
        "the kernel tensor is (3, 3, 1, 3). Nothing is summed across channels: filter 1's "
        "kernel map of R, plus its bias, is feature map 1, and likewise G gives feature map "
        "2 and B feature map 3. The standard layer of lesson 2 has 3·3·3·1 + 1 = 28 "
        "parameters for one feature map; this depthwise layer has 3·3·1·3 + 3 = 30 for "
        "three. Keras' DepthwiseConv2D(3) computes the same, storing its kernel as "
        "(3, 3, 3, 1).",
        "colour",
        LayerSettings(kernel_size=(3, 3), filters=3, groups=3, activation="linear"),
        (("sobel x",), ("sobel y",), ("laplacian",)),
    ),
    Lesson(
        "07-learn-a-kernel",
        "7. Learning a kernel: gradient descent finds Sobel x",
        "The digit again with one filter of one 3×3 kernel, but its 9 weights are random, "
        "drawn as Keras' glorot_uniform initializer draws them, and the linear activation "
        'makes the feature map simply the kernel map plus the bias. Open View → "Learn a '
        'kernel (train a filter)…" and keep the Target "hidden teacher filter" with '
        'Teacher "sobel x": the dock computes the feature map of that hidden filter and '
        "adjusts this filter's 3·3·1·1 + 1 = 10 parameters until its own feature map "
        "matches it. Press Train and watch the loss = mean((feature map − target)²) fall on "
        "the plot while the kernel cells settle on the Sobel numbers −1, 0, 1 / −2, 0, 2 / "
        '−1, 0, 1 and the bias on 0. Press "Reveal teacher" to see the teacher kernels '
        "beside the learned kernels: the filter was never told these numbers, only the "
        "feature map they make. Edit → Undo takes the whole training run back in one step "
        "and brings the random kernel back.",
        "digit",
        LayerSettings(kernel_size=(3, 3), filters=1, activation="linear"),
        (("random (glorot uniform)",),),
    ),
    Lesson(
        "08-learned-kernels",
        "8. Kernels a network learned",
        "Nobody typed these numbers: they are the first layer of a small CNN that convviz "
        "trained on 12 000 digits it drew itself, and which then named 99.9 % of 2 000 new "
        "digits right. The layer is Conv2D(8, 5, activation='relu') on one grey channel, so "
        "each filter holds one 5×5 kernel: the kernel tensor is (5, 5, 1, 8), 5·5·1·8 + 8 = "
        "208 parameters, and the output (H', W', filters) = (24, 24, 8). Click through the "
        "feature maps: filters 1, 6 and 8 became edge detectors, positive on one side and "
        "negative on the other like Sobel (1 finds horizontal edges, 6 diagonal ones, 8 the "
        "right edges of strokes), while filters 2, 3, 4, 5 and 7 are mostly positive: blurs "
        "that fill the stroke. Training began from random numbers and was only ever told "
        "whether the network's final answer was right. The network's second layer reads "
        "these 8 feature maps, max-pooled to 12×12, as an 8-channel input.",
        "digit",
        LayerSettings(kernel_size=(5, 5), filters=8, activation="relu"),
        (),
        weights="digits-cnn.npz",
    ),
    Lesson(
        "09-two-layers",
        "9. A second layer: one kernel per feature map of the first",
        "This network has two Conv2D layers, and the layer bar above the panels shows "
        "layer 2. Layer 1 is Conv2D(2, 3) with a Sobel x and a Sobel y filter, so it makes "
        "2 feature maps of the digit, and those 2 maps are layer 2's input channels: the "
        'input panel reads "map 1 of layer 1 = channel 1 of layer 2". So every filter of '
        "layer 2 holds 2 kernels, one per feature map of layer 1: its kernel tensor is "
        "(3, 3, 2, 2), 3·3·2·2 + 2 = 38 parameters, and (H', W', filters) = (24, 24, 2). "
        "Filter 1's two identity kernels add the two maps, so its feature map shows the "
        "edges of both directions; filter 2's second kernel is all zeros, so it ignores "
        "channel 2 and keeps map 1 alone. Paint on the network's input, above layer 2's: "
        "both layers follow each stroke. Choose layer 1 in the bar, set filters to 3 and "
        "come back: every filter of layer 2 now holds 3 kernels.",
        "digit",
        LayerSettings(kernel_size=(3, 3), filters=2, activation="relu"),
        (("sobel x",), ("sobel y",)),
        later=(
            (
                LayerSettings(kernel_size=(3, 3), filters=2, activation="relu"),
                (("identity", "identity"), ("identity", "zeros")),
            ),
        ),
        shown=1,
    ),
)


class TrainedLayer(Protocol):
    """What a lesson of trained kernels reads of the first layer of its weights file (a
    ``convviz.io.weight_layers.ConvLayer``)."""

    @property
    def name(self) -> str: ...

    @property
    def kernel(self) -> np.ndarray: ...

    @property
    def bias(self) -> np.ndarray | None: ...

    def settings(self, current: LayerSettings) -> LayerSettings: ...


def lesson_path(lesson: Lesson) -> Path:
    """The shipped session file of a lesson."""
    return resource_dir() / "lessons" / f"{lesson.key}{SESSION_SUFFIX}"


def build_lesson(
    lesson: Lesson, image: npt.NDArray[np.float32], layer: TrainedLayer | None = None
) -> dict[str, Any]:
    """The document of a lesson, as :meth:`Controller.network_state` returns it.

    Parameters
    ----------
    lesson : Lesson
    image : np.ndarray
        The lesson's sample as loaded from its shipped file, float32 (H, W, C).
    layer : ConvLayer, optional
        For a lesson of trained kernels (``lesson.weights``), the first layer read from
        that file (:func:`convviz.io.lesson_files.shipped_lesson` reads it).

    Returns
    -------
    dict
        input, kernel, bias (zeros, or the trained layer's), settings, channel_names,
        selected_filter (0), and the later layers and the shown one.
    """
    s = lesson.settings
    if lesson.weights is not None:
        if layer is None:
            raise ValueError(f"lesson {lesson.key}: give the layer read from {lesson.weights}")
        return _trained_lesson(lesson, image, layer)
    later, channels = [], s.filters
    for settings, kernels in lesson.later:
        kernel = _preset_kernel(settings, kernels, channels, lesson.seed)
        later.append(ConvLayer(kernel, np.zeros(settings.filters, np.float32), settings))
        channels = settings.filters
    return dict(
        input=np.ascontiguousarray(image, dtype=np.float32),
        kernel=_preset_kernel(s, lesson.kernels, image.shape[2], lesson.seed),
        bias=np.zeros(s.filters, dtype=np.float32),
        settings=s,
        channel_names=default_channel_names(image.shape[2]),
        selected_filter=0,
        layers=tuple(later),
        shown=lesson.shown,
    )


def _preset_kernel(
    s: LayerSettings, kernels: Sequence[Sequence[str]], channels: int, seed: int
) -> npt.NDArray[np.float32]:
    kh, kw = s.kernel_size
    shape = (kh, kw, channels // s.groups, s.filters)
    random = glorot_uniform(shape, np.random.default_rng(seed))
    kernel = np.zeros(shape, dtype=np.float32)
    for f, presets in enumerate(kernels):
        for k, name in enumerate(presets):
            glorot = name == "random (glorot uniform)"
            kernel[:, :, k, f] = random[:, :, k, f] if glorot else make_kernel(name, kh, kw)
    return kernel


def _trained_lesson(
    lesson: Lesson, image: npt.NDArray[np.float32], layer: TrainedLayer
) -> dict[str, Any]:
    s = lesson.settings
    if layer.settings(s) != s:
        raise ValueError(f"lesson {lesson.key}: its settings differ from those of {layer.name}")
    return dict(
        input=np.ascontiguousarray(image, dtype=np.float32),
        kernel=np.array(layer.kernel),
        bias=np.array(layer.bias),
        settings=s,
        channel_names=default_channel_names(image.shape[2]),
        selected_filter=0,
    )
