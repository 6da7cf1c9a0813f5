"""The library's catalogue database (SQLite by default, PostgreSQL for a lab), rebuilt from the
take folders at any time."""
