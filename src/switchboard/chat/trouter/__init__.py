"""ACS's chat real-time channel ("trouter") for the unmodified JS chat SDK (docs/trouter.md)."""
