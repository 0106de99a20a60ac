"""Switchboard: a self-hosted server that speaks the Azure Communication Services wire protocol."""

__version__ = "0.1.0"
