"""The audio kit for Call Automation's media endpoint (see docs/media-audio.md)."""
