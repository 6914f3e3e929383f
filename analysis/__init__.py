"""phusong package."""
