"""The project's shared machinery, which the training scripts' loops call: flags, run folders and their files,
data, plots, devices and optimisers."""
