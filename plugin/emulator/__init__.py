"""An emulator of Customer.io's Track API: the rules (track_api), and a loopback HTTP server."""

from .track_api import HOSTS, Answer, MemoryStore, SQLiteStore, TrackApi

__all__ = ["HOSTS", "Answer", "MemoryStore", "SQLiteStore", "TrackApi"]
