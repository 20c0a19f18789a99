"""Training and evaluation of the failure model (`python -m training`); never imported by the worker."""
