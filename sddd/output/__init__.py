"""Everything that talks to people: the consoles, tables, plain lines, JSON, GitHub workflow
annotations and JUnit XML. Commands render through here; nothing below it prints."""
