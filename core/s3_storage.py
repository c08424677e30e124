"""The S3 storage backend (``STORAGE_BACKEND=s3``): django-storages' own, whose connections
share one boto3 session per process."""

from __future__ import annotations

import os
import threading
import weakref

from storages.backends.s3 import S3Storage as DjangoStoragesS3Storage

_sessions: dict[tuple, _SharedSession] = {}
_sessions_lock = threading.Lock()
_storages: weakref.WeakSet[S3Storage] = weakref.WeakSet()


class S3Storage(DjangoStoragesS3Storage):
    """django-storages makes an S3 connection for each thread that asks for one (boto3
    resources are not thread-safe), each from a new boto3 session, which reads botocore's
    service models again: 16 MB and 0.16 s of CPU per connection, up to ``WEB_THREADS`` of
    them in each web worker. Here a process makes its connections from one session per set
    of credentials: 1.7 MB and 0.04 s for each after the first."""

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        _storages.add(self)

    def _create_session(self):
        key = (self.session_profile, self.access_key, self.secret_key, self.security_token)
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = _sessions[key] = _SharedSession(super()._create_session())
        return session


class _SharedSession:
    """A boto3 session shared by threads: it makes one client or resource at a time (a
    session is not thread-safe); what it makes is the caller's."""

    def __init__(self, session) -> None:
        self._session = session
        self._lock = threading.Lock()

    def resource(self, *args, **kwargs):
        with self._lock:
            return self._session.resource(*args, **kwargs)

    def client(self, *args, **kwargs):
        with self._lock:
            return self._session.client(*args, **kwargs)


def _start_afresh_in_child() -> None:
    """A forked process (a gunicorn or cluster worker) makes its own sessions and
    connections: a lock another thread held at the fork would never be released in the
    child, and a connection's open sockets would be shared with the parent."""
    global _sessions_lock
    _sessions.clear()
    _sessions_lock = threading.Lock()
    for storage in list(_storages):
        storage._connections = threading.local()
        storage._unsigned_connections = threading.local()
        storage._bucket = None


os.register_at_fork(after_in_child=_start_afresh_in_child)
