"""The numpy arithmetic behind `convviz.core.conv.conv2d`: one channel group of a layer
correlated with its padded input planes by GEMMs over gathered windows (im2col, or one
GEMM per kernel row at stride 1), and the per-thread work arrays those reuse.
"""

import math
import threading

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from convviz.core.activations import activate_into
from convviz.core.geometry import pad_axes

F32 = npt.NDArray[np.float32]


def _padded_planes(image: F32, padding: tuple[int, int, int, int], mode: str) -> F32:
    """Padded ``(C, Hp, Wp)`` copy of an ``(H, W, C)`` image; reused memory for zeros."""
    if mode != "zeros":
        return pad_axes(image.transpose(2, 0, 1), padding, mode, (1, 2))
    (h, w, c), (top, bottom, left, right) = image.shape, padding
    planes = _scratch("planes", (c, h + top + bottom, w + left + right))
    planes[:, :top] = planes[:, top + h :] = 0
    planes[:, :, :left] = planes[:, :, left + w :] = 0
    planes[:, top : top + h, left : left + w] = image.transpose(2, 0, 1)
    return planes


# Kernel taps gathered per GEMM below which one GEMM over all taps (im2col) beats one
# GEMM per kernel row; measured with convviz.bench on a 2-core machine.
_MIN_ROW_TAPS = 12
# Bytes of gathered input per block: enough to keep BLAS efficient, small enough to
# stay in cache.
_BLOCK_BYTES = 4 << 20


def _correlate_group(
    planes: F32,
    kernel: F32,
    bias: F32 | None,
    act: str,
    sel: list[int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
    outs: tuple[F32, F32 | None, F32 | None],
) -> None:
    """Compute one channel group of the layer.

    `planes` is the padded group input ``(Cg, Hp, Wp)``, `kernel` the group's
    ``(kh, kw, Cg, Fg)`` and `bias` its ``(Fg,)`` or None. `outs` is (pre, features,
    maps): the pre-activations ``(Fg, H'W')`` and activations (`act`; None when
    linear) of the group's filters, and the kernel maps ``(len(sel), Cg, H'W')`` of
    the group's filters `sel` (local indices), all written in place.

    The input is gathered block by block of output rows into a buffer that the GEMMs
    read in place: all kernel taps at once (im2col), or, for stride 1, each kernel
    column once, the kernel rows then being row offsets into the buffer, which saves
    a factor kh of copying. Kernel maps of one channel are a GEMM over that channel's
    taps only, batched over channels; the sums then come from one GEMM over all
    taps, or from summing the kernel maps when all of them are wanted anyway. Bias and
    activation are applied per block too, while the block is still in cache.
    """
    pre_out, feature_out, maps_out = outs
    cg = planes.shape[0]
    kh, kw, _, fg = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    h_out, w_out = out_hw
    by_rows = sh == 1 and cg * kw >= _MIN_ROW_TAPS
    if by_rows:
        w_terms = kernel.transpose(0, 3, 2, 1)
    else:
        w_terms = kernel.transpose(3, 2, 0, 1).reshape(1, fg, cg, kh * kw)
    n_terms, taps = w_terms.shape[0], w_terms.shape[3]
    # One channel: its kernel map is the sum. All maps wanted: the sum is nearly free.
    maps_only = len(sel) == fg and cg > 1
    want_maps = bool(sel) and cg > 1
    w_full = np.ascontiguousarray(w_terms.reshape(n_terms, fg, cg * taps))
    w_maps = np.ascontiguousarray(w_terms[:, sel].transpose(0, 2, 1, 3))
    gathered = cg * kw * (1 if by_rows else kh)
    rows = max(1, min(h_out, _BLOCK_BYTES // (4 * gathered * w_out)))
    if by_rows:
        buffer = _scratch("gather", (cg, kw, rows + (kh - 1) * dh, w_out))
    else:
        buffer = _scratch("gather", (cg, kh, kw, rows, w_out))
    tmp_full = _scratch("full", (fg, rows * w_out))
    tmp_maps = _scratch("maps", (cg, len(sel), rows * w_out))
    # `maps_out` is given exactly when `sel` is not empty.
    maps_t = None
    if want_maps:
        assert maps_out is not None
        maps_t = maps_out.transpose(1, 0, 2)

    # Strided views of the padded input, one axis per kernel tap; the geometry keeps
    # every index inside `planes`.
    p_c, p_y, p_x = planes.strides
    for y0 in range(0, h_out, rows):
        nr = min(rows, h_out - y0)
        m = nr * w_out
        block = slice(y0 * w_out, y0 * w_out + m)
        if by_rows:
            span = nr + (kh - 1) * dh
            buffer[:, :, :span] = as_strided(
                planes[:, y0:], (cg, kw, span, w_out), (p_c, dw * p_x, p_y, sw * p_x)
            )
            terms = [buffer[:, :, i * dh : i * dh + nr].reshape(cg, kw, m) for i in range(kh)]
        else:
            buffer[..., :nr, :] = as_strided(
                planes[:, y0 * sh :],
                (cg, kh, kw, nr, w_out),
                (p_c, dh * p_y, dw * p_x, sh * p_y, sw * p_x),
            )
            terms = [buffer[..., :nr, :].reshape(cg, kh * kw, m)]
        for t, v in enumerate(terms):
            if not maps_only:
                _gemm(w_full[t], v.reshape(cg * taps, m), pre_out[:, block], tmp_full, t > 0)
            if want_maps:
                assert maps_t is not None
                _gemm(w_maps[t], v, maps_t[..., block], tmp_maps, t > 0)
        pre = pre_out[:, block]
        if maps_only:
            assert maps_out is not None
            maps_out[..., block].sum(axis=1, out=pre)
        elif sel and cg == 1:
            assert maps_out is not None
            maps_out[:, 0, block] = pre[sel]
        if bias is not None:
            pre += bias[:, None]
        if feature_out is not None:
            activate_into(act, pre, feature_out[:, block])


_SCRATCH = threading.local()
# Larger work arrays are not kept between calls, to bound the memory held.
_SCRATCH_MAX_BYTES = 64 << 20


def _scratch(slot: str, shape: tuple[int, ...]) -> F32:
    """A work array reused across calls (per thread).

    Fresh memory costs a page fault per 4 KiB on first touch, which took longer than
    the arithmetic for the bench inputs.
    """
    size = math.prod(shape)
    if 4 * size > _SCRATCH_MAX_BYTES:
        return np.empty(shape, np.float32)
    pool: dict[str, F32] = _SCRATCH.__dict__.setdefault("pool", {})
    if slot not in pool or pool[slot].size < size:
        pool[slot] = np.empty(size, np.float32)
    return pool[slot][:size].reshape(shape)


def _gemm(a: F32, b: F32, out: F32, tmp: F32, accumulate: bool) -> None:
    """out = a @ b, or out += a @ b using the scratch array `tmp`."""
    if not accumulate:
        np.matmul(a, b, out=out)
    else:
        scratch = tmp[..., : out.shape[-1]]
        np.matmul(a, b, out=scratch)
        out += scratch
