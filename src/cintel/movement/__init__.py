"""Movement intelligence: where goods and vessels are and go (ports, routes, country outlines)."""
