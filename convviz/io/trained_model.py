"""Train the example network again and write its weights file.

``python -m convviz.io.trained_model [PATH]`` trains :mod:`convviz.core.trained_example`'s
network and rewrites ``resources/models/digits-cnn.npz`` (or PATH).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from convviz.core.digit_data import digit_set
from convviz.core.trained_example import (
    TEST_COUNT,
    TEST_SEED,
    TRAIN_COUNT,
    TRAIN_SEED,
    Params,
    model_path,
    predict,
    train,
)
from convviz.io.model_weights import ConvLayer, PoolLayer, save_weights


def save(params: Params, path: Path, accuracy: float) -> Path:
    """Write the network as convviz's weights file: the two Conv2D layers and the pooling
    between them for ``load_weights``, the dense head as extra arrays."""

    def conv(name: str, kernel: np.ndarray, bias: np.ndarray) -> ConvLayer:
        return ConvLayer(name, kernel, bias, (1, 1), "valid", (1, 1), 1, "relu", "zeros")

    layers: list[ConvLayer | PoolLayer] = [
        conv("conv1", params.k1, params.b1),
        PoolLayer("pool1", "MaxPooling2D", (2, 2), (2, 2)),
        conv("conv2", params.k2, params.b2),
        PoolLayer("pool2", "MaxPooling2D", (2, 2), (2, 2)),
    ]
    extra: dict[str, np.ndarray] = {
        "dense.kernel": params.w3,
        "dense.bias": params.b3,
        "test_accuracy": np.array(accuracy, np.float64),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_weights(path, layers, extra=extra)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else model_path()
    print(f"drawing {TRAIN_COUNT} training and {TEST_COUNT} held-out digits…")
    images, labels = digit_set(TRAIN_COUNT, TRAIN_SEED)
    test_images, test_labels = digit_set(TEST_COUNT, TEST_SEED)
    params = train(images, labels, log=print)
    accuracy = float((predict(params, test_images) == test_labels).mean())
    print(f"accuracy on the {TEST_COUNT} held-out digits: {accuracy:.2%}")
    print(save(params, path, accuracy))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
