"""What leaves or enters the app as files: panels, figures, animations, arrays, weights and
the code for them, imported trained weights.
"""
