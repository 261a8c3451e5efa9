"""The built-in offline zoo: architectures, data and recipes, and the shipped models."""
