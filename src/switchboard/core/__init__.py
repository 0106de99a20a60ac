"""Domain-neutral building blocks: errors, identifiers, clock, config. Imports nothing of ours."""
