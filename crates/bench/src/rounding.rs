//! The precision of the figures in the reports.

/// `x` rounded to `places` decimal places: the reports give seconds and
/// rates to a fixed precision, so their JSON stays readable.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_the_given_places() {
        assert_eq!(round(1.23456, 3), 1.235);
        assert_eq!(round(2.25, 1), 2.3);
        assert_eq!(round(99.4, 0), 99.0);
    }
}
