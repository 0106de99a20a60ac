"""Example applications built on Switchboard (see examples/README.md)."""
