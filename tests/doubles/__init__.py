"""Test doubles for hardware that cannot exist on a CI machine (named *Double)."""
