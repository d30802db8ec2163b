"""Sessions, crash recovery and lessons."""
