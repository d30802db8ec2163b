"""Files for tests, Qt-free."""

import math

import numpy as np


def sparse_npy(path, shape, descr="<f4"):
    """Write a .npy of zeros whose values take no disk space (a sparse file)."""
    itemsize = np.dtype(descr).itemsize
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
        )
        f.truncate(f.tell() + math.prod(shape) * itemsize)
    return path
