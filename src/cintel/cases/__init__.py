"""Casework: cases opened from a declaration, an entity, a ring or a container, the evidence and notes
they gather, who works them, their way from lead to closed with an outcome, and their export."""
