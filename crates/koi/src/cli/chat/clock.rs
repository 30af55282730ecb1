//! Message times as `HH:MM` in the terminal's time zone.

/// The offset from UTC to show times in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset_s: i64,
}

impl Clock {
    pub fn with_offset(offset_s: i64) -> Clock {
        Clock { offset_s }
    }

    /// The local offset, read while the process has one thread (the `time`
    /// crate refuses later, as reading it races with `setenv`); UTC when it
    /// cannot be read.
    pub fn local() -> Clock {
        let offset = time::UtcOffset::current_local_offset().map_or(0, |o| o.whole_seconds());
        Clock::with_offset(i64::from(offset))
    }

    /// `HH:MM` of a timestamp in milliseconds since the epoch.
    pub fn hh_mm(self, ts_ms: u64) -> String {
        let seconds = i64::try_from(ts_ms / 1000).unwrap_or(0) + self.offset_s;
        let minutes = seconds.div_euclid(60).rem_euclid(24 * 60);
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_offset() {
        let ts = 1_732_363_200_456; // 2024-11-23 12:00:00.456 UTC
        assert_eq!(Clock::default().hh_mm(ts), "12:00");
        assert_eq!(Clock::with_offset(-13 * 3600).hh_mm(ts), "23:00");
        assert_eq!(Clock::with_offset(5 * 3600 + 1800).hh_mm(ts), "17:30");
    }
}
