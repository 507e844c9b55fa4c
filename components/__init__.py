"""Reusable UI pieces: session, navigation, KPI tiles, charts, tables, forms, live feed."""
