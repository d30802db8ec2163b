"""Inspecting the arithmetic: a pinned pixel, the sliding window, shapes, layer variants."""
