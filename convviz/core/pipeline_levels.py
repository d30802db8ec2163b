"""How the pipeline measures its maps for the colour scale: the largest magnitude of each
filter's sum and feature map and of the selected filter's kernel maps, and whether they
are all finite, measured whole (a scan), per filter, or grown by a brush box; as a mixin
of :class:`convviz.core.pipeline.Pipeline` and the functions measuring a cache.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from convviz.core.incremental import LayerCache, Slices
from convviz.core.levels import SymmetricLevels, magnitude

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
# LayerCache.filter_outputs, and what _outputs_measured measures of it.
_FilterOutputs = tuple[F32, F32, F32 | None, F32, F32 | None]
_Measured = tuple[float, bool, F64 | None, npt.NDArray[np.bool_] | None]


class PipelineLevels:
    """The measured maxima of a pipeline's maps, and whether those maps are finite."""

    cache: LayerCache | None
    levels: SymmetricLevels
    hold: bool
    _largest: float
    # Per filter: the largest magnitude of its pre-activation and feature map, and of
    # the selected filter's kernel maps, so that a filter edit can lower the scale.
    _filter_largest: F64
    _kernel_largest: F64
    # Measured at the same time: whether every value of those maps is finite.
    _filter_finite: npt.NDArray[np.bool_]
    _kernel_finite: npt.NDArray[np.bool_]
    _overestimate: bool

    def _not_finite(self, cache: LayerCache, g: int) -> bool:
        """Whether filter ``g``'s maps may hold inf or NaN: a value undone by subtracting
        it again would leave NaN (inf - inf), so such a filter is recomputed whole."""
        if self._filter_finite.size != cache.feature_maps.shape[2]:
            return True
        if g == cache.selected and not self._kernel_finite.all():
            return True
        return not self._filter_finite[g]

    def _all_finite(self, cache: LayerCache) -> bool:
        sizes = (self._filter_finite.size, self._kernel_finite.size)
        if sizes != (cache.feature_maps.shape[2], cache.kernel_maps.shape[2]):
            return False
        return bool(self._filter_finite.all() and self._kernel_finite.all())

    def _grow(self, cache: LayerCache, out_box: Slices, rescan: bool = True) -> None:
        """Raise the measured maxima to hold what an output box now holds (a brush box
        never lowers them: unless ``rescan`` is False, the whole cache is measured again
        once the stroke ends)."""
        grown, finite = _largest_value(cache, box=out_box)
        self._filter_largest = np.maximum(self._filter_largest, grown)
        self._kernel_largest = np.maximum(self._kernel_largest, grown)
        if not finite:  # somewhere in the box: which map is not known
            self._filter_finite[:] = False
            self._kernel_finite[:] = False
        self._overestimate = self._overestimate or rescan

    def _levels(self, cache: LayerCache | None) -> tuple[float, float]:
        if cache is None:
            return (-1.0, 1.0)
        return self.levels.update(self._largest, shrink=not self.hold)

    def _scan(self, cache: LayerCache) -> None:
        """Measure every map of ``cache`` for the colour scale."""
        measured = [
            _largest_value(cache, f=g, kernel_maps=False)
            for g in range(cache.feature_maps.shape[2])
        ]
        self._filter_largest = np.array([m[0] for m in measured], dtype=np.float64)
        self._filter_finite = np.array([m[1] for m in measured], dtype=bool)
        self._kernel_largest, self._kernel_finite = _channel_largest(cache.kernel_maps)
        self._overestimate = False
        self._largest = self._measured()

    def _scan_filter(self, cache: LayerCache, g: int, maps: Iterable[int] | None = None) -> None:
        """Measure filter ``g`` again: its sum and feature map, and when it is the selected
        one its kernel maps of the channels ``maps`` (all of them when None)."""
        if self._filter_largest.size != cache.feature_maps.shape[2]:
            self._scan(cache)
            return
        self._filter_largest[g], self._filter_finite[g] = _largest_value(
            cache, f=g, kernel_maps=False
        )
        if g == cache.selected:
            if maps is None or self._kernel_largest.size != cache.kernel_maps.shape[2]:
                self._kernel_largest, self._kernel_finite = _channel_largest(cache.kernel_maps)
            else:
                for c in maps:
                    self._kernel_largest[c], self._kernel_finite[c] = magnitude(
                        cache.kernel_maps[..., c]
                    )
        self._largest = self._measured()

    def _measured(self) -> float:
        # numpy types the maximum of an array as Any.
        return max(self._filter_largest.max(initial=0.0), self._kernel_largest.max(initial=0.0))  # type: ignore[no-any-return]


def _outputs_measured(outputs: _FilterOutputs) -> _Measured:
    """For a filter's ``LayerCache.filter_outputs``: the largest magnitude of its sum
    and feature map and whether they are finite, and the same of each of its kernel maps
    (None, None when they were not computed)."""
    pre, feature, maps = outputs[:3]
    (a, a_ok), (b, b_ok) = magnitude(pre), magnitude(feature)
    kernel = (None, None) if maps is None else _channel_largest(maps)
    return max(a, b), a_ok and b_ok, *kernel


def _channel_largest(kernel_maps: F32) -> tuple[F64, npt.NDArray[np.bool_]]:
    """The largest magnitude of each channel's kernel map (H', W', C), and whether each
    is finite."""
    measured = [magnitude(kernel_maps[..., c]) for c in range(kernel_maps.shape[2])]
    return (
        np.array([m[0] for m in measured], dtype=np.float64),
        np.array([m[1] for m in measured], dtype=bool),
    )


def _largest_value(
    cache: LayerCache, box: Slices | None = None, f: int | None = None, kernel_maps: bool = True
) -> tuple[float, bool]:
    """The largest magnitude among the maps the views show, and whether all their values
    are finite: all of them, the output ``box``, or filter ``f``'s (its kernel maps count
    only when it is the selected one, and not at all without ``kernel_maps``).

    One scale serves kernel maps, sums and feature maps, so that colours add up:
    map 1 + map 2 + map 3 + bias looks like the pre-activation it makes.
    """
    if f is not None:
        parts = [cache.pre_activation[..., f], cache.feature_maps[..., f]]
        if kernel_maps and f == cache.selected:
            parts.append(cache.kernel_maps)
    else:
        parts = [cache.pre_activation, cache.feature_maps, cache.kernel_maps]
        if box is not None:
            parts = [a[box] for a in parts]
    measured = [magnitude(p) for p in parts]
    return max(m[0] for m in measured), all(m[1] for m in measured)
