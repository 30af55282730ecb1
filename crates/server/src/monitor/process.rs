//! Figures of the node's own process, read when `/metrics` is scraped.
//!
//! Only the resident set for now, under the name Prometheus' client libraries
//! give it, so dashboards and `koi bench connections` find it without knowing
//! the node's pid.

/// Sets `process_resident_memory_bytes` from the kernel's count, where there is one.
pub fn record_resident_memory() {
    if let Some(bytes) = resident_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(bytes as f64);
    }
}

/// This process's RSS: `VmRSS` of `/proc/self/status`, in bytes; `None` off Linux.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss(&status)
}

/// `VmRSS:   123456 kB` of a `/proc/<pid>/status`, in bytes.
pub fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tkoi\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n";
        assert_eq!(vm_rss(status), Some(12345 * 1024));
        assert_eq!(vm_rss("Name:\tkoi\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_resident_set() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
    }
}
