//! CPU time of this process, to show how much of the machine the bench itself
//! took (it usually shares it with the node it measures), and of a server
//! process the bench started.

/// User + system CPU seconds used by this process so far; `None` off Linux.
pub fn process_seconds() -> Option<f64> {
    seconds_of("/proc/self/stat")
}

/// The same for another process of this machine (a server the bench started).
pub fn pid_seconds(pid: u32) -> Option<f64> {
    seconds_of(&format!("/proc/{pid}/stat"))
}

fn seconds_of(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces: count fields after its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; USER_HZ is 100 on every Linux platform Rust supports.
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_plausible_figure_on_linux() {
        if cfg!(target_os = "linux") {
            let s = super::process_seconds().unwrap();
            assert!((0.0..1e6).contains(&s));
            let same = super::pid_seconds(std::process::id()).unwrap();
            assert!(same >= s);
        }
    }
}
