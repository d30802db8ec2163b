"""convviz: see inside a convolutional layer.

The public API is Qt-free::

    from convviz import conv2d, conv_geometry, load_input, load_weights, InputError
"""

from convviz.core.conv import ConvResult, conv2d, conv_geometry
from convviz.io.inputs import InputError, load_input
from convviz.io.model_weights import ConvLayer, ModelWeights, PoolLayer, load_weights, save_weights

__version__ = "0.1.0"

__all__ = [
    "ConvLayer",
    "ConvResult",
    "InputError",
    "ModelWeights",
    "PoolLayer",
    "conv2d",
    "conv_geometry",
    "load_input",
    "load_weights",
    "save_weights",
    "__version__",
]
