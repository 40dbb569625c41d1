"""Risk targeting: rules and profiles, features, models, explanations, selection into channels,
backtests and monitoring. Pure computation on frames; the store is read and written by the callers."""
