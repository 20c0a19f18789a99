"""Time-series model kinds: remaining useful life and anomaly detection from machine histories.

`python -m training.series` trains and evaluates them (see __main__.py); the worker serves
them through model/series.py and model/windows.py, never importing this package.
"""
