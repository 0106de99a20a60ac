"""The push services Switchboard hands notifications to, one module each, behind PushProvider."""
