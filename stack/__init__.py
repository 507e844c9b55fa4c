"""The embedded local services: PostgreSQL, the Tansu broker and the CDC relay."""
