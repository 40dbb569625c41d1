"""The canonical customs model: code lists and record definitions shared by every layer."""
