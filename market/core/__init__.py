"""The shared kernel that catalog and payments may import: database, errors, access, extensions."""
