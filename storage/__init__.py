"""The database: SQLAlchemy models, repositories (one per aggregate), engine setup and Alembic
migrations. It stores columns, not ActivityStreams semantics, and imports nothing of ours.
"""
