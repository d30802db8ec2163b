"""Learning one filter by gradient descent: the loss, its gradients and the optimisers.

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
from convviz.core.presets import filter_preset, glorot_uniform
from convviz.core.words import count

OPTIMIZERS = ("sgd", "momentum", "adam")
"""Optimiser names: plain SGD, SGD with momentum 0.9, Adam with Keras' defaults."""
STARTS = ("current", "zeros", "glorot")
"""Where training starts: the document's kernels, all zeros, or a seeded Glorot draw."""

# The dock's defaults. A seeded random start is never the teacher (on the start scene the
# teacher Sobel x is already filter 1, so starting from the current kernels would start at
# loss 0), and Adam at 0.02 from seed 0 converges on the start scene and on every lesson.
DEFAULT_START, DEFAULT_SEED, DEFAULT_OPTIMIZER, DEFAULT_LEARNING_RATE = "glorot", 0, "adam", 0.02

MOMENTUM = 0.9
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam defaults
# Above this many bytes the gathered windows are rebuilt block by block at every step
# instead of being kept: slower, but a 1024x1024x16 input with 11x11 kernels fits in memory.
WINDOW_BUDGET_BYTES = 96 << 20

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_Scalar = TypeVar("_Scalar", bound=np.generic)
# What Trainer.state returns: weights, optimiser slots, steps, losses kept, dead.
_TrainerState = tuple[F64, tuple[F64, ...], int, int, bool]


class TrainingDiverged(ValueError):
    """The loss or the weights stopped being finite numbers (learning rate too high)."""


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


def start_weights(choice: str, state: Mapping[str, Any], seed: int = 0) -> tuple[F32, float]:
    """Kernels ``(kh, kw, Cg)`` and bias of the selected filter to start training from.

    ``"current"`` copies the document's, ``"zeros"`` zeros both, ``"glorot"`` draws the
    kernels as Keras' ``glorot_uniform`` does for this layer (seeded) with a zero bias.
    """
    f, kernel = state["selected_filter"], state["kernel"]
    if choice == "current":
        return kernel[..., f].copy(), float(state["bias"][f])
    if choice == "zeros":
        return np.zeros(kernel.shape[:3], np.float32), 0.0
    if choice == "glorot":
        return glorot_uniform(kernel.shape, np.random.default_rng(seed))[..., f], 0.0
    raise ValueError(f"start must be one of {', '.join(STARTS)}, got {choice!r}")


class Trainer:
    """Gradient descent on one filter's kernels and bias, one deterministic step at a time.

    Parameters
    ----------
    setup : FilterSetup
        Input channels and settings of the filter.
    kernel : array_like
        ``(kh, kw, Cg)`` starting kernels.
    bias : float
        Starting bias (kept as is without ``setup.use_bias``).
    target : array_like
        ``(H', W')``: the feature map to learn.
    optimizer : str
        One of `OPTIMIZERS`.
    learning_rate : float
        Step size; may be changed between steps.
    budget : int
        See `filter_gradients`.

    Attributes
    ----------
    steps : int
        Updates made so far.
    losses : list of float
        The loss before each update, in order.
    """

    def __init__(
        self,
        setup: FilterSetup,
        kernel: npt.ArrayLike,
        bias: float,
        target: npt.ArrayLike,
        *,
        optimizer: str = "adam",
        learning_rate: float = 0.01,
        budget: int = WINDOW_BUDGET_BYTES,
    ) -> None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        kernel = np.asarray(kernel, np.float32)
        self._loss = _Loss(setup, kernel.shape[:2], target, budget)
        if kernel.shape != self._loss.kernel_shape:
            raise ValueError(
                f"kernel must have shape {self._loss.kernel_shape}, got {kernel.shape}"
            )
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        # Weights and optimiser slots in float64, so tiny late updates are not rounded away.
        self._theta = np.append(kernel.astype(np.float64).ravel(), float(bias))
        self._slots = [np.zeros_like(self._theta), np.zeros_like(self._theta)]
        self.steps = 0
        self.losses: list[float] = []
        self.dead = False  # the last gradient was exactly zero with the loss above zero

    @property
    def kernel(self) -> F32:
        """Current kernels ``(kh, kw, Cg)``, float32 (a copy)."""
        return self._theta[:-1].reshape(self._loss.kernel_shape).astype(np.float32)

    @property
    def bias(self) -> float:
        """Current bias, rounded to float32 as the document stores it."""
        return float(np.float32(self._theta[-1]))

    @property
    def target(self) -> F32:
        """The ``(H', W')`` feature map being learned."""
        return self._loss.target.reshape(self._loss.windows.out_size)

    @property
    def work_per_step(self) -> int:
        """Multiply-adds of one step, roughly: the forward pass and the kernel gradient."""
        h, w = self._loss.windows.out_size
        kh, kw, cg = self._loss.kernel_shape
        return 2 * h * w * kh * kw * cg

    def state(self) -> _TrainerState:
        """What the steps change (weights, optimiser slots, counts), for :meth:`restore`."""
        slots = tuple(slot.copy() for slot in self._slots)
        return (self._theta.copy(), slots, self.steps, len(self.losses), self.dead)

    def restore(self, state: _TrainerState) -> None:
        """Go back to a :meth:`state`: steps made since then are forgotten."""
        theta, slots, self.steps, n_losses, self.dead = state
        self._theta = theta.copy()
        self._slots = [slot.copy() for slot in slots]
        del self.losses[n_losses:]

    def loss(self) -> float:
        """The loss at the current weights."""
        return self._loss(self.kernel, self.bias, want_grad=False)[0]

    def step(self, n: int = 1) -> F64:
        """Make `n` updates.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` losses, each measured before its update; fewer when the gradient is
            exactly zero with a loss above zero (`dead` is then True and no update is made).

        Raises
        ------
        TrainingDiverged
            When the loss, gradients or weights stop being finite in float32; the
            weights are then those of the last finite step.
        """
        out = np.empty(n)
        for k in range(n):
            loss, d_kernel, d_bias = self._loss(self.kernel, self.bias)
            grad = np.append(d_kernel.ravel(), d_bias)
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                raise TrainingDiverged(_DIVERGED)
            self.dead = loss > 0 and not grad.any()
            if self.dead:
                return out[:k]  # nothing can move: stop here, see `stalled_message`
            theta = self._theta + self._update(grad)
            with np.errstate(over="ignore"):
                if not np.isfinite(theta.astype(np.float32)).all():
                    raise TrainingDiverged(_DIVERGED)
            self._theta = theta
            self.steps += 1
            self.losses.append(loss)
            out[k] = loss
        return out

    def _update(self, grad: F64) -> F64:
        lr = self.learning_rate
        if self.optimizer == "sgd":
            return -lr * grad
        velocity, second = self._slots
        if self.optimizer == "momentum":
            # Keras' SGD(momentum=0.9): v <- 0.9 v - lr g; w <- w + v.
            velocity *= MOMENTUM
            velocity -= lr * grad
            return velocity.copy()
        # Keras' Adam: bias-corrected step size, epsilon outside the square root.
        t = self.steps + 1
        alpha: float = lr * np.sqrt(1 - ADAM_BETA_2**t) / (1 - ADAM_BETA_1**t)
        velocity += (grad - velocity) * (1 - ADAM_BETA_1)
        second += (grad * grad - second) * (1 - ADAM_BETA_2)
        return -alpha * velocity / (np.sqrt(second) + ADAM_EPSILON)


def stalled_message(activation: str) -> str:
    """What to tell a class whose training cannot move: the gradient is exactly zero.

    With ReLU this is a dead ReLU: every pre-activation is at or below 0, where ReLU's
    slope is 0, so no weight change makes any difference to the loss.
    """
    if canonical_activation(activation) == "relu":
        return (
            "The gradient is zero: every pre-activation is ≤ 0, so ReLU outputs 0 on every "
            "pixel and its slope there is 0 (a dead ReLU); gradient descent cannot move. "
            'Press Reset, then Start from "random (Glorot uniform)" (try another seed or a '
            "lower learning rate), or use the activation leaky_relu."
        )
    return (
        "The gradient is zero: no small change of the weights changes the loss, so gradient "
        'descent cannot move. Press Reset and Start from "random (Glorot uniform)" or try '
        "another activation such as leaky_relu."
    )


_DIVERGED = (
    "Training diverged: the loss or the weights are no longer finite numbers. "
    "Lower the learning rate and reset."
)


def training_label(f: int, steps: int) -> str:
    """The undo step of a training run of filter ``f`` (from 0) that took ``steps``."""
    return f"Train filter {f + 1} ({count(steps, 'step')})"
