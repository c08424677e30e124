"""A lecture's transcript: the provider client, chunking and merging, captions, the job.

Kept free of imports so that ``lectures.models`` can load the models of this package.
"""
