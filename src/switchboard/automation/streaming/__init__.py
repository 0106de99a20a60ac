"""Media streaming and transcription: ACS's JSON frames over a WebSocket to the app's
``transportUrl`` (docs/media-streaming.md)."""
