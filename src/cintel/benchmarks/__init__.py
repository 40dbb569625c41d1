"""Benchmarks the CLI runs (`cintel bench ...`): each returns a JSON-ready dict of figures."""
