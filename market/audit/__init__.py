"""Reading the audit log: who changed what, for administrators."""
