"""What training one filter measures: its setup, its loss against a target map and the
loss's gradients, and the target a hidden teacher filter makes (see ``training.py``
for the trainer).

The selected filter's kernels ``w`` (kh, kw, Cg) and bias ``b`` are fitted so that its
feature map ``a = act(z)``, ``z[r, s] = sum_ijc w[i, j, c] x_pad[r sh + i dh, s sw + j dw,
c] + b``, matches a target map ``t``. The loss is ``L = mean((a - t)**2)`` over the H'W'
output pixels, so with ``delta = 2 / N (a - t) act'(z)``::

    dL/dw[i, j, c] = sum_rs delta[r, s] x_pad[r sh + i dh, s sw + j dw, c]
    dL/db          = sum_rs delta[r, s]

The input never changes during training, so the input windows each output pixel reads are
gathered once (im2col); a step is then two matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from convviz.core.activations import activate, activation_derivative, canonical_activation
from convviz.core.conv import conv2d, conv_geometry, pad_input
from convviz.core.presets import filter_preset

# Above this many bytes the gathered windows are rebuilt block by block at every step
# instead of being kept: slower, but a 1024x1024x16 input with 11x11 kernels fits in memory.
WINDOW_BUDGET_BYTES = 96 << 20

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_Scalar = TypeVar("_Scalar", bound=np.generic)


@dataclass(frozen=True)
class FilterSetup:
    """What one filter computes, apart from its weights.

    Attributes
    ----------
    x : numpy.ndarray
        ``(H, W, Cg)`` float32: the input channels the filter's kernels slide over.
    conv : dict
        ``strides``, ``padding``, ``dilation_rate``, ``padding_mode``, ``activation`` and
        ``flip_kernel``, as `conv2d` takes them.
    use_bias : bool
        Whether the layer adds (and training fits) a bias.
    """

    x: F32
    conv: dict[str, Any]
    use_bias: bool

    @classmethod
    def from_state(cls, state: Mapping[str, Any], f: int | None = None) -> FilterSetup:
        """The setup of filter `f` (default: the selected one) of a document state.

        Parameters
        ----------
        state : dict
            As ``Document.snapshot()`` / ``Controller.state()`` return it.
        f : int or None
            Filter index.
        """
        s = state["settings"]
        f = state["selected_filter"] if f is None else f
        cg = state["kernel"].shape[2]
        group = f // (s.filters // s.groups)
        x = np.ascontiguousarray(state["input"][:, :, group * cg : (group + 1) * cg])
        conv = s.conv_kwargs()
        del conv["groups"]
        return cls(x=x, conv=conv, use_bias=s.use_bias)

    def feature_map(self, kernel: F32, bias: float) -> F32:
        """The filter's ``(H', W')`` feature map with these kernels ``(kh, kw, Cg)``."""
        b = np.array([bias], np.float32) if self.use_bias else None
        res = conv2d(self.x, kernel[..., None], b, kernel_map_filters=(), **self.conv)
        return np.array(res.feature_maps[..., 0])


class _Windows:
    """The input windows of every output pixel, as a matrix ``(kh * kw * Cg, H'W')``.

    One row per kernel tap: BLAS runs both products of a step on long contiguous rows,
    ten times faster than on the (H'W', taps) layout with its short rows.
    """

    def __init__(
        self, x: F32, kernel_size: tuple[int, int], conv: dict[str, Any], budget: int
    ) -> None:
        (kh, kw), cg = kernel_size, x.shape[2]
        geom = conv_geometry(
            x.shape, (kh, kw), conv["strides"], conv["padding"], conv["dilation_rate"]
        )
        (sh, sw), (dh, dw) = geom.strides, geom.dilation
        self.out_size = geom.output_size
        xp = pad_input(x, geom.padding, conv["padding_mode"])
        spans = geom.effective_kernel_size
        view = sliding_window_view(xp, spans, axis=(0, 1))[::sh, ::sw, :, ::dh, ::dw]
        # (H', W', Cg, kh, kw) -> (kh, kw, Cg, H', W'): rows in the kernel's memory order.
        self.view = view[: self.out_size[0], : self.out_size[1]].transpose(3, 4, 2, 0, 1)
        self.taps = kh * kw * cg
        row_bytes = self.out_size[1] * self.taps * xp.itemsize
        self.rows = max(1, min(self.out_size[0], budget // max(row_bytes, 1)))
        self.matrix = self._block(0, self.out_size[0]) if self.rows == self.out_size[0] else None

    def _block(self, r0: int, r1: int) -> F32:
        return np.ascontiguousarray(self.view[..., r0:r1, :]).reshape(self.taps, -1)

    def blocks(self) -> Iterator[tuple[slice, F32]]:
        """Yield (pixel slice, window matrix) covering all output pixels."""
        if self.matrix is not None:
            yield slice(None), self.matrix
            return
        w_out = self.out_size[1]
        for r0 in range(0, self.out_size[0], self.rows):
            r1 = min(r0 + self.rows, self.out_size[0])
            yield slice(r0 * w_out, r1 * w_out), self._block(r0, r1)

    def correlate(self, w: F32) -> F32:
        """``z`` without bias, flattened: the kernel ``w`` (flat) times the windows."""
        z = np.empty(self.out_size[0] * self.out_size[1], self.view.dtype)
        for pixels, m in self.blocks():
            z[pixels] = w @ m
        return z

    def gradient(self, delta: F32) -> F64:
        """``sum_pixels delta * window``: dL/dw (flat) for per-pixel ``delta = dL/dz``."""
        g = np.zeros(self.taps, np.float64)
        for pixels, m in self.blocks():
            g += m @ delta[pixels]
        return g


class _Loss:
    """Loss and gradients of one filter against a fixed target."""

    def __init__(
        self,
        setup: FilterSetup,
        kernel_size: tuple[int, int],
        target: npt.ArrayLike,
        budget: int,
    ) -> None:
        self.setup = setup
        self.kernel_shape: tuple[int, int, int] = (*kernel_size, setup.x.shape[2])
        self.windows = _Windows(setup.x, kernel_size, setup.conv, budget)
        target = np.asarray(target, np.float32)
        if target.shape != self.windows.out_size:
            raise ValueError(
                f"the target must have the feature map's shape (H', W') = "
                f"{self.windows.out_size}, got {target.shape}"
            )
        if not np.isfinite(target).all():
            raise ValueError("the target contains NaN or infinite values")
        self.target = target.ravel()
        self.activation = canonical_activation(setup.conv["activation"])
        self.flip = setup.conv["flip_kernel"]

    def _oriented(self, kernel: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
        # conv2d slides the rotated kernel when flip_kernel is on; rotating twice undoes it.
        return kernel[::-1, ::-1] if self.flip else kernel

    @overload
    def __call__(
        self, kernel: F32, bias: float, want_grad: Literal[True] = True
    ) -> tuple[float, F64, float]: ...

    @overload
    def __call__(
        self, kernel: F32, bias: float, want_grad: Literal[False]
    ) -> tuple[float, None, None]: ...

    def __call__(
        self, kernel: F32, bias: float, want_grad: bool = True
    ) -> tuple[float, F64 | None, float | None]:
        w = np.ascontiguousarray(self._oriented(kernel), np.float32).ravel()
        z = self.windows.correlate(w)
        if self.setup.use_bias:
            z += np.float32(bias)
        a = z if self.activation == "linear" else activate(self.activation, z)
        residual = a.astype(np.float64) - self.target
        loss = float(np.mean(residual * residual))
        if not want_grad:
            return loss, None, None
        delta = (2.0 / residual.size) * residual
        if self.activation != "linear":
            delta *= activation_derivative(self.activation, z)
        delta = delta.astype(np.float32)
        grad = self._oriented(self.windows.gradient(delta).reshape(self.kernel_shape))
        d_bias = float(delta.sum(dtype=np.float64)) if self.setup.use_bias else 0.0
        return loss, np.ascontiguousarray(grad), d_bias


def filter_gradients(
    setup: FilterSetup,
    kernel: npt.ArrayLike,
    bias: float,
    target: npt.ArrayLike,
    budget: int = WINDOW_BUDGET_BYTES,
) -> tuple[float, F64, float]:
    """Loss of one filter against a target map, and its gradients.

    Parameters
    ----------
    setup : FilterSetup
        Input channels and layer settings of the filter.
    kernel : array_like
        ``(kh, kw, Cg)``: the filter's kernels.
    bias : float
        The filter's bias (ignored without ``setup.use_bias``).
    target : array_like
        ``(H', W')``: the wanted feature map.
    budget : int
        Bytes of gathered input windows to keep at once (tests use tiny budgets to
        exercise the block-by-block path).

    Returns
    -------
    loss : float
        ``mean((feature_map - target) ** 2)``.
    d_kernel : numpy.ndarray
        ``(kh, kw, Cg)`` float64, dL/dw.
    d_bias : float
        dL/db; 0 without a bias.
    """
    kernel = np.asarray(kernel, np.float32)
    return _Loss(setup, kernel.shape[:2], target, budget)(kernel, bias)


def teacher_kernels(
    presets: str | Sequence[str],
    kernel_shape: tuple[int, int, int],
    rng: np.random.Generator | None = None,
) -> F32:
    """A hidden teacher filter: one preset per kernel, or one preset for all of them.

    Parameters
    ----------
    presets : str or sequence of str
        Preset names (see `convviz.core.presets.KERNEL_PRESETS`), one per input channel
        of the filter, or one for every channel.
    kernel_shape : (int, int, int)
        ``(kh, kw, Cg)``.
    rng : numpy.random.Generator or None
        Needed only by the random preset; default seed 0.

    Returns
    -------
    numpy.ndarray
        float32 ``(kh, kw, Cg)``.
    """
    kh, kw, cg = kernel_shape
    names = [presets] * cg if isinstance(presets, str) else list(presets)
    if len(names) != cg:
        raise ValueError(f"need one preset per kernel ({cg}), got {len(names)}: {names}")
    rng = np.random.default_rng(0) if rng is None else rng
    return np.stack([filter_preset(n, kh, kw, 1, 1, rng)[:, :, 0] for n in names], axis=2)


def teacher_target(
    state: Mapping[str, Any],
    presets: str | Sequence[str],
    bias: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[F32, F32]:
    """The feature map a hidden teacher filter makes on the document's input.

    Parameters
    ----------
    state : dict
        Document state (``Controller.state()``); the teacher replaces its selected
        filter, with the same settings and input channels.
    presets : str or sequence of str
        See `teacher_kernels`.
    bias : float
        The teacher's bias, used only when the layer has one.
    rng : numpy.random.Generator or None
        For the random preset.

    Returns
    -------
    target : numpy.ndarray
        ``(H', W')`` float32, the teacher's feature map.
    kernels : numpy.ndarray
        ``(kh, kw, Cg)`` float32, the teacher's kernels (to reveal after training).
    """
    kernels = teacher_kernels(presets, state["kernel"].shape[:3], rng)
    return FilterSetup.from_state(state).feature_map(kernels, bias), kernels
