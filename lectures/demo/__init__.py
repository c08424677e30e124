"""What `make demo` uses to try the service on one machine, without internet: sample files
and a stand-in transcription provider. The service itself never imports it."""
