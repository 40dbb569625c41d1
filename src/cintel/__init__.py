"""cintel: customs intelligence platform."""
