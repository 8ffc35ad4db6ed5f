"""The imperative shell for data: SQLAlchemy Core tables and repositories.

SQLite is the embedded default; PostgreSQL is the same code with another URL.
Each repository has an in-memory twin where tests want a fast fake.
"""
