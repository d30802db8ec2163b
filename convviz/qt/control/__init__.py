"""The controller: user intents become commands, one coalesced recompute, one frame per
turn (painting, the network's layers, the weights, background jobs and the queries views
ask are parts of it).
"""
