"""The commands: one module per console script (`lstmlab-train` is `cli/train.py`, ...). A new command is a new
file here and a line in pyproject.toml's [project.scripts]. Nothing else in lstmlab imports from this package."""
