"""What edits the layer: the kernel editor and its cells, the layer's settings, the brush,
the layer tabs.
"""
