"""Training one filter by gradient descent: the trainer, its optimisers (plain SGD, SGD
with momentum, Adam), where training starts and what to tell a class when it stalls or
diverges. The loss it descends and its gradients are ``training_loss.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.activations import canonical_activation
from convviz.core.presets import glorot_uniform
from convviz.core.training_loss import WINDOW_BUDGET_BYTES, FilterSetup, _Loss
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

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
# What Trainer.state returns: weights, optimiser slots, steps, losses kept, dead.
_TrainerState = tuple[F64, tuple[F64, ...], int, int, bool]


class TrainingDiverged(ValueError):
    """The loss or the weights stopped being finite numbers (learning rate too high)."""


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
