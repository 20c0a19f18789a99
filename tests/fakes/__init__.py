"""Fakes of outside services for the tests: real servers on loopback ports."""
