"""Chat: threads, messages, participants, read receipts, and their per-user event stream."""
