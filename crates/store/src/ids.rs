use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The last id handed out, as its 128-bit value.
static LAST: Mutex<u128> = Mutex::new(0);

/// A new globally unique, roughly time-ordered id: 48 bits of milliseconds and 80
/// random bits, as 26 lowercase Crockford base32 characters (like a ULID).
///
/// Within one process ids strictly rise (a monotonic ULID): an id made in the
/// same millisecond as the one before, or while the clock stepped back, is the
/// one before plus one. So the ids a store's writer gives its messages rise in
/// commit order, and search can order and page by id (`before`).
pub fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let fresh = (ms << 80) | (rand::random::<u128>() & ((1u128 << 80) - 1));
    let value = {
        let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
        *last = if fresh >> 80 > *last >> 80 {
            fresh
        } else {
            last.wrapping_add(1)
        };
        *last
    };
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

    #[test]
    fn ids_rise_within_a_process() {
        let ids: Vec<String> = (0..1000).map(|_| super::new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
