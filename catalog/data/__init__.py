"""Reference data bundled with the catalog: the OCOP product groups and sub-groups."""
