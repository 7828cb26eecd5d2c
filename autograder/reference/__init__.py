"""Reference solutions and answer keys used by hidden tests (never shipped to students)."""
