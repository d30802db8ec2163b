"""convviz: see inside a convolutional layer.

The public API is Qt-free::

    from convviz import conv2d, conv_geometry, load_input, InputError
"""

from convviz.core.conv import ConvResult, conv2d, conv_geometry
from convviz.io.inputs import InputError, load_input

__version__ = "0.1.0"

__all__ = ["ConvResult", "InputError", "conv2d", "conv_geometry", "load_input", "__version__"]
