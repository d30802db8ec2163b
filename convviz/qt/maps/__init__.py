"""The panels of maps: the input, the kernel maps and their sum, every filter's feature
map.
"""
