//! `koi bench group` and `koi bench connections` against a real node, at tiny
//! sizes: a correctness check of the load generators (every owed delivery
//! made exactly once, the JSON report complete). Never a speed assertion.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

mod bench_harness;

use serde_json::Value;

use bench_harness::{Node, n};

/// The admin token of the test node, which these modes need.
const ADMIN: &str = "smoke-admin-token";

/// A node with the admin token.
fn node() -> Node {
    Node::start(&["--admin-token", ADMIN])
}

/// Runs `koi bench <args> --admin-token ADMIN --json`; the report, once it
/// exited 0.
fn bench(args: &[&str]) -> Value {
    bench_harness::bench(&[args, &["--admin-token", ADMIN]].concat())
}

/// A group of 30 with 10 members online and 2 senders, and 2 direct pairs
/// beside it: every acked message reaches every online member once, and each
/// direct message its receiver. A second run with the same prefix reuses the
/// users and the group.
#[test]
fn bench_group_delivers_every_message_to_every_online_member() {
    let node = node();
    let args = [
        "group",
        "--url",
        &node.http,
        "--members",
        "30",
        "--online",
        "10",
        "--senders",
        "2",
        "--rate",
        "20",
        "--duration",
        "2",
        "--direct-pairs",
        "2",
        "--direct-rate",
        "10",
        "--prefix",
        "gsmoke",
    ];
    let first = bench(&args);
    assert_eq!(first["bench"], "group");
    assert_eq!(first["ok"], true, "{first}");
    assert!(n(&first, &["acked"]) > 0, "nothing acked: {first}");
    assert_eq!(
        n(&first, &["expected"]),
        n(&first, &["acked"]) * 10,
        "{first}"
    );
    assert_eq!(
        n(&first, &["delivered"]),
        n(&first, &["expected"]),
        "{first}"
    );
    assert_eq!(
        (n(&first, &["lost"]), n(&first, &["duplicated"])),
        (0, 0),
        "{first}"
    );
    assert_eq!(
        n(&first, &["send_to_delivery", "count"]),
        n(&first, &["delivered"])
    );
    let direct = &first["direct"];
    assert!(n(direct, &["acked"]) > 0, "{first}");
    assert_eq!(n(direct, &["delivered"]), n(direct, &["acked"]), "{first}");
    assert_eq!((n(direct, &["lost"]), n(direct, &["duplicated"])), (0, 0));
    assert_eq!(n(&first, &["setup", "users_created"]), 34);
    assert_eq!(first["group_reused"], false);

    let again = bench(&args);
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["group"], first["group"]);
    assert_eq!(again["group_reused"], true);
    assert_eq!(n(&again, &["setup", "users_created"]), 0);
    assert_eq!(n(&again, &["setup", "users_existing"]), 34);
}

/// `group --react-ratio` mixes reactions into the group senders' load: each
/// acknowledged reaction reaches every online member once as its event, owed
/// and counted as a message is, and the messages still arrive once each.
#[test]
fn bench_group_fans_reactions_out_to_every_online_member_once() {
    let node = node();
    let report = bench(&[
        "group",
        "--url",
        &node.http,
        "--members",
        "20",
        "--online",
        "8",
        "--senders",
        "2",
        "--rate",
        "20",
        "--react-ratio",
        "0.5",
        "--duration",
        "2",
        "--node-pid",
        &node.pid().to_string(),
        "--prefix",
        "greact",
    ]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(n(&report, &["delivered"]), n(&report, &["acked"]) * 8);
    let reactions = &report["reactions"];
    let n = |key: &str| n(reactions, &[key]);
    assert!(n("reacts") > 0 && n("unreacts") > 0, "{report}");
    assert_eq!(n("reacts") + n("unreacts"), n("acked"), "{report}");
    assert_eq!(n("expected"), n("acked") * 8, "{report}");
    assert_eq!(n("delivered"), n("expected"), "{report}");
    assert_eq!((n("lost"), n("duplicated"), n("unexpected")), (0, 0, 0));
    assert_eq!(
        reactions["send_to_delivery"]["count"].as_u64().unwrap(),
        n("delivered"),
        "one latency per delivery: {report}"
    );
    assert!(report["server_cpu_us_per_delivery"].is_number(), "{report}");
}

/// `--direct-process` runs the direct pairs as a `koi bench direct` child:
/// its whole report is in the group's, every acknowledged direct message was
/// delivered once, and no pair ran in the group bench's own process.
#[test]
fn bench_group_runs_direct_pairs_in_a_child_process() {
    let node = node();
    let report = bench(&[
        "group",
        "--url",
        &node.http,
        "--members",
        "20",
        "--online",
        "8",
        "--rate",
        "10",
        "--duration",
        "2",
        "--warmup",
        "1",
        "--direct-pairs",
        "2",
        "--direct-rate",
        "10",
        "--direct-process",
        "--prefix",
        "gchild",
    ]);
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["direct"].is_null(), "no pairs in-process: {report}");
    let child = &report["direct_process"];
    assert_eq!(child["bench"], "direct", "{report}");
    assert_eq!(child["users"], 4, "{report}");
    assert!(n(child, &["acked"]) > 0, "{report}");
    assert_eq!(n(child, &["delivered"]), n(child, &["acked"]), "{report}");
    assert_eq!((n(child, &["lost"]), n(child, &["duplicated"])), (0, 0));
    assert_eq!(
        n(&report, &["delivered"]),
        n(&report, &["expected"]),
        "{report}"
    );
}

/// `group --baseline` runs the same group load through the null relay (its
/// own process) and the same fan-out through a bare nats-server before the
/// node: every target delivers everything owed once, each reports its server
/// CPU, and the ratios are computed from what was measured.
#[test]
fn bench_group_baseline_measures_the_null_relay_nats_and_the_node() {
    let node = node();
    let pid = node.pid().to_string();
    let report = bench(&[
        "group",
        "--url",
        &node.http,
        "--members",
        "20",
        "--online",
        "8",
        "--rate",
        "20",
        "--duration",
        "1",
        "--baseline",
        "--node-pid",
        &pid,
    ]);
    assert_eq!(report["bench"], "group-baseline");
    assert_eq!(report["ok"], true, "{report}");
    for target in ["null_relay", "koi"] {
        let t = &report[target];
        assert_eq!(t["ok"], true, "{target}: {t}");
        assert!(n(t, &["acked"]) > 0, "{target}: nothing acked: {t}");
        assert_eq!(n(t, &["delivered"]), n(t, &["acked"]) * 8, "{target}: {t}");
        assert!(t["server_cpu_s"].is_number(), "{target}: {t}");
    }
    assert_ne!(report["null_relay"]["url"], report["koi"]["url"]);
    let nats = &report["nats"];
    assert_eq!(nats["ok"], true, "{nats}");
    assert!(n(nats, &["sent"]) > 0, "{nats}");
    assert_eq!(n(nats, &["delivered"]), n(nats, &["sent"]) * 8, "{nats}");
    let ratios = &report["ratios"];
    let rate = |t: &str| report[t]["delivery_rate"].as_f64().expect("a rate");
    let ratio = ratios["deliveries_vs_null_relay"]
        .as_f64()
        .expect("a ratio");
    assert!(
        (ratio - rate("koi") / rate("null_relay")).abs() < 0.001,
        "{ratios}"
    );
}

/// 40 idle connections in two steps from two source addresses: all open,
/// all alive after the hold (each gets the check push once), and the node's
/// RSS read at every step.
#[test]
fn bench_connections_opens_holds_and_checks_every_connection() {
    let node = node();
    let pid = node.pid().to_string();
    let report = bench(&[
        "connections",
        "--url",
        &node.http,
        "--connections",
        "40",
        "--steps",
        "10",
        "--source-addrs",
        "2",
        "--server-pid",
        &pid,
        "--duration",
        "1",
        "--settle",
        "0.1",
    ]);
    assert_eq!(report["bench"], "connections");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        (n(&report, &["connected"]), n(&report, &["failed"])),
        (40, 0),
        "{report}"
    );
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{report}");
    assert_eq!(
        (n(&steps[0], &["connected"]), n(&steps[1], &["connected"])),
        (10, 40)
    );
    assert!(n(&steps[1], &["rss_bytes"]) > 0);
    assert!(steps[1]["kib_per_connection"].is_number(), "{report}");
    let probe = &report["probe"];
    assert_eq!(
        (
            n(probe, &["delivered"]),
            n(probe, &["lost"]),
            n(probe, &["duplicated"])
        ),
        (40, 0, 0),
        "{report}"
    );
    assert_eq!(n(&report, &["disconnects"]), 0);
}
