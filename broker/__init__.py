"""Broker tooling: development PKI, users and roles, ACL and config rendering, reload."""
