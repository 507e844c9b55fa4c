"""Benchmarks: `python manage.py bench <name>`. Each prints ratios against a baseline measured
side by side in the same run. Not part of the test suite."""
