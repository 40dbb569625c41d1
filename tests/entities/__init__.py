"""Tests of cintel.entities."""
