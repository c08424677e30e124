"""A lecture's transcript: the provider client, chunking and merging, captions, the job."""
