"""What every part of the window builds on: the map views and their colours, paint code
that cannot raise, plain text for messages, worker threads.
"""
