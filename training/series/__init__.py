"""Time-series model kinds: remaining useful life and anomaly detection from machine histories.

`python -m training --profile P --data FILE [--kind rul|anomaly]` trains them and
`python -m training evaluate --profile P FILE` evaluates them (training/__main__.py); the
worker serves them through model/series.py and model/windows.py, never importing this package.
"""
