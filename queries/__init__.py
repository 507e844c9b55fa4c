"""All database access: pool, transaction helper, reads, commands, dialect, migrations."""
