"""Decisions: the suggested keeper, the journal joined with the scan (keep / delete / undecided), rules, export."""
