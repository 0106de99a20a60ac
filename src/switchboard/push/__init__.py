"""Push notifications: devices whose app is closed learn of calls and messages (docs/push.md)."""
