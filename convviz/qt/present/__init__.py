"""The presentation view: the selected filter as one diagram for the back row."""
