//! # Koi client (in progress)
