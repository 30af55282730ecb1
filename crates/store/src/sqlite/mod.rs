//! SQLite implementation (in progress).
