"""Murano's own services as in-process models, one module each (named by their spec's `implementation`)."""
