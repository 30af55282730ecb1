//! The bench's own file-descriptor limit: every connection is one socket, and
//! a shell's usual soft limit (often 1024) is far below what a bench opens.

use anyhow::bail;

/// Descriptors the bench uses besides its connections: the runtime, HTTP
/// clients, stdio.
const SPARE: u64 = 64;

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit, and fails with
/// advice when `sockets` connections would still not fit.
pub fn raise_for(sockets: u64) -> anyhow::Result<u64> {
    let soft = rlimit::increase_nofile_limit(u64::MAX)?;
    if soft < sockets + SPARE {
        bail!(
            "this process may open {soft} files, and {sockets} connections need {}: \
             raise the hard limit (`ulimit -Hn`, /etc/security/limits.conf, systemd \
             LimitNOFILE) or open fewer connections",
            sockets + SPARE
        );
    }
    Ok(soft)
}
