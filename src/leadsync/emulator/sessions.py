"""Access tokens: who holds them, which profile applies, and when they expire."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from .clock import Clock
from .errors import invalid_session
from .schema import Profile


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    username: str
    profile: Profile
    client_id: str
    expires_at: float


class SessionManager:
    """Issues and checks access tokens. Tokens live in memory: a restarted org asks clients
    to log in again, as an expired session would."""

    def __init__(self, clock: Clock, org_id: str, lifetime_seconds: int) -> None:
        self._clock = clock
        self._org_id = org_id
        self.lifetime_seconds = lifetime_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, username: str, profile: Profile, client_id: str) -> Session:
        # Salesforce tokens start with the org id and an exclamation mark.
        token = f"{self._org_id[:15]}!{secrets.token_urlsafe(48)}"
        session = Session(
            token=token,
            user_id=user_id,
            username=username,
            profile=profile,
            client_id=client_id,
            expires_at=self._clock.now_float() + self.lifetime_seconds,
        )
        with self._lock:
            self._sessions[token] = session
        return session

    def validate(self, token: str | None) -> Session:
        if not token:
            raise invalid_session()
        with self._lock:
            session = self._sessions.get(token)
        if session is None:
            raise invalid_session()
        if self._clock.now_float() >= session.expires_at:
            with self._lock:
                self._sessions.pop(token, None)
            raise invalid_session()
        return session

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count
