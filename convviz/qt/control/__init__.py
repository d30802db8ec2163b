"""The controller: user intents become commands, one coalesced recompute, one frame per
turn (painting and the network's layers are parts of it).
"""
