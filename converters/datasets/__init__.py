"""Real datasets that ship as packages (no downloads): see each module for its source."""
