use std::time::{SystemTime, UNIX_EPOCH};

/// A new globally unique, roughly time-ordered id: 48 bits of milliseconds and 80
/// random bits, as 26 lowercase Crockford base32 characters (like a ULID).
pub fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let value = (ms << 80) | (rand::random::<u128>() & ((1u128 << 80) - 1));
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_sortable_by_time() {
        let a = super::new_id();
        let b = super::new_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
    }
}
