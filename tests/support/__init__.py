"""Test support: serving the emulator over a socket and pointing real clients at it."""
