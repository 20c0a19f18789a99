"""Sensor publishers: replay a CSV or simulate the AI4I 2020 process, publish readings over MQTT/TLS.

`python -m publisher --help` shows the command line; the pure cores are
:mod:`publisher.replay` and :mod:`publisher.simulation`, the durable queue is
:mod:`publisher.outbox` and the MQTT side is :mod:`publisher.sender`.
"""
