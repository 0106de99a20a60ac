"""Call recording (ACS ``/calling/recordings…``): a listen-only leg on the call's SFU, chunks
written whole and durably to a BlobStore, RecordingStateChanged callbacks and the
RecordingFileStatusUpdated event, downloads at the locations it names. docs/recording.md."""
