"""The manual's KPIs from live data."""
