"""pytest support for Murano scripts (fixtures and case files)."""
