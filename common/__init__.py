"""Plumbing shared by every service: environment settings, logging, the MQTT session."""
