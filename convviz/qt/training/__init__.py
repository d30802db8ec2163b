"""Learn a kernel: gradient descent on the selected filter, shown live."""
