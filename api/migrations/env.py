"""Alembic's entry point: runs the revisions on the connection api.migrations hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `python -m api db upgrade` (api.migrations), not the alembic CLI")

# the caller's transaction (already holding the migration lock) is the migration's transaction
context.configure(connection=connection, transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
