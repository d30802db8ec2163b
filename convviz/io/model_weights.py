"""Open a trained model's Conv2D layers: :func:`load_weights`, and :func:`save_weights`
for convviz's own ``.npz`` weights file. Qt-free.

Readers by suffix:

* ``.keras`` (Keras 3 archive), ``.h5`` / ``.hdf5`` (Keras model or weights) — h5py;
* ``.safetensors`` — the safetensors package (numpy API);
* ``.pt`` / ``.pth`` — PyTorch's ``torch.load(..., weights_only=True)``;
* ``.npz`` — convviz's weights file (:func:`save_weights`), or any archive with a
  ``kernel`` array (Keras layout) and an optional ``bias``;
* ``.npy`` — a kernel as *File › Export › Weights as .npy* writes it, with its bias from
  ``<stem>_bias.npy`` beside it, in the Keras or the PyTorch layout.

h5py and safetensors come with ``pip install "convviz[models]"``; PyTorch is used when it
is installed. Every file is untrusted: sizes are checked before anything is read, nothing
is unpickled outside torch's weights-only loader, and every problem is an
:class:`~convviz.io.inputs.InputError` whose message names the file.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

from convviz.core.model import MAX_KERNEL
from convviz.io._checks import InputError
from convviz.io._keras_files import read_h5, read_keras_archive
from convviz.io._torch_files import read_safetensors, read_torch
from convviz.io.atomic import atomic_writer
from convviz.io.inputs import _as_input_error, check_file
from convviz.io.weight_layers import (
    ConvLayer,
    ModelWeights,
    PoolLayer,
    ReadResult,
    ValueBudget,
    checked_weights,
    from_torch_layout,
    label_of,
)

__all__ = [
    "MODEL_SUFFIXES",
    "WEIGHTS_SUFFIXES",
    "ConvLayer",
    "ModelWeights",
    "PoolLayer",
    "is_weights_file",
    "load_weights",
    "save_weights",
]

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".safetensors", ".pt", ".pth")
WEIGHTS_SUFFIXES = MODEL_SUFFIXES + (".npz", ".npy")
FORMAT = "convviz weights"
_META = "convviz_weights"
_MAX_META_CHARS = 1_000_000
# Members get a fixed date, so the same weights always give the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def load_weights(path: str | os.PathLike[str]) -> ModelWeights:
    """The Conv2D layers of a trained model's file, in the model's order.

    Parameters
    ----------
    path : str or PathLike
        A file with one of ``WEIGHTS_SUFFIXES`` (see the module docstring).

    Returns
    -------
    ModelWeights
        A sequence of :class:`ConvLayer` (``weights[0]`` is the first Conv2D), each with
        ``name``, ``kernel`` in the Keras layout ``(kh, kw, C_in // groups, filters)``,
        ``bias`` (or None) and the settings the file records (None where it records
        none); ``.layers`` also lists pooling layers where the file records them.

    Raises
    ------
    InputError
        For a file that is missing, malformed, too large, or needs a package that is not
        installed (the message says which), always naming the file.
    """
    path = Path(path)
    label = label_of(path)
    check_file(path, label)
    suffix = path.suffix.lower()
    readers = {
        ".keras": read_keras_archive,
        ".h5": read_h5,
        ".hdf5": read_h5,
        ".safetensors": read_safetensors,
        ".pt": read_torch,
        ".pth": read_torch,
        ".npz": _read_npz,
        ".npy": _read_npy,
    }
    if suffix not in readers:
        kind = f"'{suffix}' files" if suffix else "files without an extension"
        raise InputError(
            f"{label}: convviz cannot read weights from {kind}; it reads "
            + ", ".join(WEIGHTS_SUFFIXES)
        )
    budget = ValueBudget(label)
    with _as_input_error(label):
        file_format, layers, notes = readers[suffix](path, label, budget)
    return ModelWeights(path, file_format, tuple(layers), tuple(notes))


def save_weights(
    path: str | os.PathLike[str],
    layers: Sequence[ConvLayer | PoolLayer],
    extra: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write layers as convviz's ``.npz`` weights file, which :func:`load_weights` reads
    back with every setting; numpy alone opens it (``np.load``), nothing is pickled.

    Parameters
    ----------
    path : str or PathLike
        Target; ``.npz`` is appended when missing. Written atomically.
    layers : sequence of ConvLayer and PoolLayer
        In the model's order.
    extra : mapping of str to array, optional
        More arrays to keep in the file (say, a classifier's dense weights), stored as
        ``extra.<name>``; :func:`load_weights` ignores them.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays: dict[str, np.ndarray] = {}
    entries: list[dict[str, Any]] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, PoolLayer):
            entries.append(
                dict(
                    type=layer.kind,
                    name=layer.name,
                    pool_size=list(layer.pool_size),
                    strides=list(layer.strides),
                    padding=layer.padding,
                )
            )
            continue
        entry: dict[str, Any] = dict(
            type="Conv2D", name=layer.name, kernel=f"layer{i}.kernel", bias=None
        )
        arrays[entry["kernel"]] = np.asarray(layer.kernel, dtype=np.float32)
        if layer.bias is not None:
            entry["bias"] = f"layer{i}.bias"
            arrays[entry["bias"]] = np.asarray(layer.bias, dtype=np.float32)
        for key in ("strides", "padding", "dilation", "groups", "activation", "padding_mode"):
            value = getattr(layer, key)
            entry[key] = list(value) if isinstance(value, tuple) else value
        entries.append(entry)
    extra = dict(extra or {})
    for name, array in extra.items():
        arrays[f"extra.{name}"] = np.asarray(array)
    meta = dict(format=FORMAT, version=1, layers=entries, extra=sorted(extra))
    arrays = {_META: np.array(json.dumps(meta, indent=1)), **arrays}
    with atomic_writer(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return path


def is_weights_file(path: str | os.PathLike[str]) -> bool:
    """Whether a dropped or named file holds weights rather than an input.

    Model files always do; an ``.npz`` does when it holds a ``kernel`` or convviz's
    weights; an ``.npy`` when it is 4-D without a batch axis of 1, or has a
    ``<stem>_bias.npy`` beside it, or is that bias file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return True
    try:
        if suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
            return f"{_META}.npy" in names or "kernel.npy" in names
        if suffix == ".npy":
            if _bias_path(path).is_file() or _kernel_of_bias(path) is not None:
                return True
            with open(path, "rb") as f:
                shape, _ = _npy_header(f, label_of(path))
            return len(shape) == 4 and shape[0] != 1
    except (OSError, zipfile.BadZipFile, InputError):
        return False
    return False


# -- convviz's own files ------------------------------------------------------------------
def _npy_header(f: IO[bytes], label: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(f)
    except Exception as exc:  # numpy's header parser raises several types
        raise InputError(f"{label}: this is not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise InputError(f"{label}: the array holds Python objects, which convviz never loads")
    return tuple(int(s) for s in shape), dtype


def _array(
    # IO[Any]: partial(Path.open, path, "rb") is typed as opening a text stream.
    open_member: Callable[[], IO[Any]],
    label: str,
    budget: ValueBudget,
    what: str,
) -> np.ndarray:
    """Read one .npy stream after checking its header: floats, within the budget."""
    with open_member() as f:
        shape, dtype = _npy_header(f, label)
    if dtype.kind != "f":
        raise InputError(f"{label}: {what} holds {dtype} values, not floats")
    budget.claim(shape, what)
    with open_member() as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _read_npz(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{label}: this is not a valid .npz file (not a zip archive)") from None
    with archive:
        names = {n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")}

        def member(name: str) -> Callable[[], IO[bytes]]:
            return lambda: archive.open(f"{name}.npy")

        def read(name: str, what: str) -> np.ndarray:
            if name not in names:
                raise InputError(f"{label}: the archive lacks the array {name!r} ({what})")
            return _array(member(name), label, budget, what)

        if _META in names:
            return _read_convviz_npz(member(_META), read, label)
        if "kernel" in names:
            kernel = read("kernel", "the kernel")
            bias = read("bias", "the bias") if "bias" in names else None
            kernel, bias = checked_weights(label, "kernel", kernel, bias)
            layer = ConvLayer(name=path.stem, kernel=kernel, bias=bias)
            return "NumPy weights (.npz)", [layer], (_BARE_NOTE,)
    listed = ", ".join(repr(n) for n in sorted(names)[:10]) or "none"
    raise InputError(
        f"{label}: the archive holds no weights (its arrays: {listed}); convviz reads its own "
        "weights files or an archive with a 'kernel' array (kh, kw, C_in, filters) and an "
        "optional 'bias'"
    )


_BARE_NOTE = (
    "The file holds a kernel and bias only: strides, padding, dilation and activation are "
    "not recorded, so convviz keeps its current ones."
)


def _read_convviz_npz(
    open_meta: Callable[[], IO[bytes]], read: Callable[[str, str], np.ndarray], label: str
) -> ReadResult:
    with open_meta() as f:
        shape, dtype = _npy_header(f, label)
    if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * _MAX_META_CHARS:
        raise InputError(f"{label}: its description of the layers is not text")
    with open_meta() as f:
        meta = json.loads(str(np.lib.format.read_array(f, allow_pickle=False)))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{label}: this is not a convviz weights file")
    if meta.get("version") != 1:
        raise InputError(
            f"{label}: the file is version {meta.get('version')} of convviz's weights files; "
            "this convviz reads version 1 (a newer convviz wrote it)"
        )
    layers: list[ConvLayer | PoolLayer] = []
    for entry in meta.get("layers", []):
        kind, name = str(entry.get("type")), str(entry.get("name"))
        if kind != "Conv2D":
            layers.append(
                PoolLayer(
                    name=name,
                    kind=kind,
                    pool_size=tuple(int(s) for s in entry["pool_size"]),
                    strides=tuple(int(s) for s in entry["strides"]),
                    padding=str(entry.get("padding", "valid")),
                )
            )
            continue
        kernel = read(str(entry["kernel"]), f"the kernel of layer {name}")
        bias = entry.get("bias")
        bias = None if bias is None else read(str(bias), f"the bias of layer {name}")
        kernel, bias = checked_weights(label, name, kernel, bias)

        def pair(value: Iterable[int] | None) -> tuple[int, ...] | None:
            return None if value is None else tuple(int(v) for v in value)

        padding = entry.get("padding")
        layers.append(
            ConvLayer(
                name=name,
                kernel=kernel,
                bias=bias,
                strides=pair(entry.get("strides")),
                padding=padding if padding is None or isinstance(padding, str) else pair(padding),
                dilation=pair(entry.get("dilation")),
                groups=None if entry.get("groups") is None else int(entry["groups"]),
                activation=entry.get("activation"),
                padding_mode=entry.get("padding_mode"),
            )
        )
    return "convviz weights (.npz)", layers, ()


def _bias_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}_bias.npy")


def _kernel_of_bias(path: Path) -> Path | None:
    """The kernel file beside a ``<stem>_bias.npy`` file, if there is one."""
    if not path.stem.endswith("_bias"):
        return None
    kernel = path.with_name(path.stem[: -len("_bias")] + ".npy")
    return kernel if kernel.is_file() else None


def _read_npy(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    kernel_path = _kernel_of_bias(path) or path
    bias_path = _bias_path(kernel_path)
    kernel = _array(partial(Path.open, kernel_path, "rb"), label, budget, "the kernel")
    if kernel.ndim != 4:
        raise InputError(
            f"{label}: a kernel file holds a 4-D array, (kh, kw, C_in, filters) or (filters, "
            f"C_in, kh, kw); this one has shape {kernel.shape}"
        )
    bias = None
    if bias_path.is_file():
        what = f"the bias ({bias_path.name})"
        bias = _array(partial(Path.open, bias_path, "rb"), label, budget, what)
    layout, note = _npy_layout(kernel.shape, None if bias is None else bias.shape)
    if layout == "pytorch":
        kernel = from_torch_layout(kernel)
    kernel, bias = checked_weights(label, kernel_path.stem, kernel, bias)
    notes = (note, _BARE_NOTE) if note else (_BARE_NOTE,)
    layer = ConvLayer(name=kernel_path.stem, kernel=kernel, bias=bias)
    return "NumPy kernel (.npy)", [layer], notes


def _npy_layout(
    shape: tuple[int, ...], bias_shape: tuple[int, ...] | None
) -> tuple[str, str | None]:
    """ "keras" or "pytorch" for a kernel of ``shape``, and a note when it is a guess.

    The bias has one value per filter, which tells the layouts apart. Without it, or when
    both ends are that long, the reading with square kernels wins, then the one whose
    kernel sides convviz can show, then the Keras layout (convviz's export default).
    """
    filters = bias_shape[0] if bias_shape is not None and len(bias_shape) == 1 else None
    keras = filters is None or shape[3] == filters
    torch = filters is None or shape[0] == filters
    as_torch = "Read as the PyTorch layout (filters, C_in, kh, kw)"
    if keras != torch:
        return ("keras", None) if keras else ("pytorch", as_torch + ".")
    keras_square, torch_square = shape[0] == shape[1], shape[2] == shape[3]
    if keras_square != torch_square:
        if keras_square:
            return "keras", None
        return "pytorch", as_torch + ", the reading with square kernels."
    if max(shape[:2]) > MAX_KERNEL >= max(shape[2:]):
        return "pytorch", as_torch + "."
    return "keras", (
        f"The shape {tuple(shape)} fits both layouts; convviz read it as the Keras layout "
        "(kh, kw, C_in, filters). A file exported in the PyTorch layout gives other kernels."
    )
