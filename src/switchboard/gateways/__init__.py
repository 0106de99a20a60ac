"""Links to outside networks: each subpackage speaks one carrier protocol (SMPP, …)."""
