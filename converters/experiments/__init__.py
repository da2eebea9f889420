"""Measurements behind the project's claims: scripts run by ``make`` targets, never by the test suite."""
