"""The daily report a person reads: the day's facts from the DuckDB views, drawn as PNG charts
and laid out as one HTML page (and as Markdown for the Dagster UI). Plain Python, no Dagster.
"""
