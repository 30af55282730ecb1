//! `koi bench group`: one group of G members, N of them online, S senders
//! sending to it open loop; every online member matches what it gets to what
//! was sent.
//!
//! 1. Creates the accounts `<prefix>-m<i>` (and `<prefix>-ds<i>` /
//!    `<prefix>-dr<i>` for `--direct-pairs`) through `POST /v1/admin/users`,
//!    and takes tokens for those who connect from `POST /v1/admin/tokens`
//!    ([`provision`](super::provision)): no password hash per user.
//! 2. Member 0 finds the group of an earlier run with this prefix and size, or
//!    creates it and adds everyone ([`setup`]).
//! 3. Connects the receivers `m<S>`…`m<S+N-1>` (pushes on), then the senders
//!    `m0`…`m<S-1>` (pushes off), over the nodes from dispatch.
//! 4. Runs the load ([`load`]): each sender sends to `g:<id>` at R/S per
//!    second (`direct`'s open-loop sender), each receiver matches pushes to
//!    sends ([`member`]); optional direct pairs run beside it, to show what
//!    the group's fan-out does to other traffic. Then it waits up to
//!    `--drain` for the owed deliveries and tallies them ([`tally`]).
//! 5. Reports ([`report`]).

mod baseline;
mod beside;
mod load;
mod member;
mod report;
mod setup;
mod tally;

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use tokio::time::Instant;

use self::report::{Direct, Report, SetupTimes};
use super::header::Header;
use super::node::DEFAULT_SERVER_RATE;
use super::output::OutputArgs;
use super::provision::Admin;
use super::rounding::round;
use super::traffic::Traffic;
use super::transport::TransportArg;
use super::{nofile, output, reactions, users};

/// `koi bench group` options.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// The node's HTTP gateway; the WebSocket and TCP addresses come from its dispatch.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    url: String,
    /// The node's admin token, for creating the users and taking their tokens.
    #[arg(long, env = "KOI_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Members of the group (the node's `max_group_members` bounds it, 100,000 by default).
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Members connected to receive (besides the senders).
    #[arg(long, default_value_t = 100)]
    online: usize,
    /// Members that send, each on its own connection.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Offered group messages per second, all senders together (0: only the direct pairs).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// The share of the group senders' operations (of --rate) that are
    /// reactions to their newest acked group message (`react`, every second
    /// one an `unreact`); 1: all but each sender's first.
    #[arg(long, default_value_t = 0.0)]
    react_ratio: f64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the measured window: checked for loss, not measured.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Transport and encoding of every connection.
    #[arg(long, value_enum, default_value_t = TransportArg::WsJson)]
    transport: TransportArg,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100)]
    size: usize,
    #[command(flatten)]
    output: OutputArgs,
    /// Username prefix; reuse one to skip creating the users and the group [default: from the time].
    #[arg(long)]
    prefix: Option<String>,
    /// Most seconds to wait for the owed deliveries after the last reply.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    /// Most unanswered sends per sender.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Seconds a request waits for its reply.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Concurrent connection attempts during setup.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Direct sender → receiver pairs (other users) sending beside the group.
    #[arg(long, default_value_t = 0)]
    direct_pairs: usize,
    /// Offered direct messages per second, all pairs together.
    #[arg(long, default_value_t = 100.0)]
    direct_rate: f64,
    /// Run the direct pairs as a `koi bench direct` child process (its own
    /// runtime, sockets and CPU, as other users' clients would have) instead
    /// of in this one; the group load starts once it sends, and its report
    /// goes in `direct_process`. Needs --warmup of at least 1 (the child's).
    /// The node's CPU per delivery then counts the group's deliveries only.
    #[arg(long)]
    direct_process: bool,
    /// The node's process id, when it runs on this machine: its CPU time over
    /// the load, and per delivery, is reported then.
    #[arg(long)]
    node_pid: Option<u32>,
    /// Before the node, run the same load through the null relay (a `koi
    /// bench null-relay` child process) and the same fan-out through a bare
    /// nats-server, and report the node's figures as ratios to theirs.
    #[arg(long)]
    baseline: bool,
    /// With --baseline: leave NATS out (no `nats-server` on this machine).
    #[arg(long)]
    no_nats: bool,
}

/// Where a group load goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub url: &'a str,
    pub admin_token: &'a str,
    pub server_pid: Option<u32>,
}

fn check(args: &GroupArgs) -> anyhow::Result<()> {
    if args.senders == 0 || args.online == 0 {
        bail!("--senders and --online must be at least 1");
    }
    if args.senders + args.online > args.members {
        bail!("--senders + --online must not exceed --members (senders and receivers are members)");
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    let non_negative = |x: f64| x.is_finite() && x >= 0.0;
    if !positive(args.duration) || !positive(args.timeout) {
        bail!("--duration and --timeout must be positive");
    }
    if !non_negative(args.rate) || !non_negative(args.warmup) || !non_negative(args.drain) {
        bail!("--rate, --warmup and --drain must be zero or more");
    }
    if args.rate == 0.0 && args.direct_pairs == 0 {
        bail!("--rate 0 sends nothing: give a rate, or --direct-pairs to measure them alone");
    }
    if args.direct_pairs > 0 && !positive(args.direct_rate) {
        bail!("--direct-rate must be positive");
    }
    if args.direct_process && (args.direct_pairs == 0 || args.warmup < 1.0) {
        bail!("--direct-process needs --direct-pairs and a --warmup of at least 1 s");
    }
    reactions::check_ratio(args.react_ratio)?;
    if args.react_ratio > 0.0 && args.baseline {
        bail!("--react-ratio is for the node only, not with --baseline");
    }
    if args.size > 16 * 1024 {
        bail!("--size is at most 16384 (the protocol's bound on `text`)");
    }
    if args.max_in_flight == 0 {
        bail!("--max-in-flight must be at least 1");
    }
    Ok(())
}

pub async fn run(args: GroupArgs) -> anyhow::Result<()> {
    check(&args)?;
    let (s, n, pairs) = (args.senders, args.online, args.direct_pairs);
    nofile::raise_for((s + n + 2 * pairs + 1) as u64)?;
    let prefix = args.prefix.clone().unwrap_or_else(users::default_prefix);
    users::check_prefix(&prefix)?;
    if args.baseline {
        return baseline::run(&args, &prefix).await;
    }
    let node = Target {
        url: &args.url,
        admin_token: &args.admin_token,
        server_pid: args.node_pid,
    };
    let report = measure(&args, node, &prefix).await?;
    output::print(&report, args.output.json, Report::table);
    verdict(&report, args.output.allow_loss)
}

/// Exit status: an error when deliveries were lost or duplicated (unless allowed).
fn verdict(report: &Report, allow_loss: bool) -> anyhow::Result<()> {
    output::verdict(report.ok, allow_loss, || {
        let (group, direct) = (&report.traffic, report.direct.as_ref().map(|d| &d.traffic));
        let reactions = report.reactions.as_ref().map(|r| &r.traffic);
        let child = |field: &str| {
            report
                .direct_process
                .as_ref()
                .and_then(|r| r[field].as_u64())
                .unwrap_or(0)
        };
        format!(
            "{} lost and {} duplicated deliveries",
            group.counts.lost
                + direct.map_or(0, |d| d.counts.lost)
                + reactions.map_or(0, |r| r.counts.lost)
                + child("lost"),
            group.counts.duplicated
                + direct.map_or(0, |d| d.counts.duplicated)
                + reactions.map_or(0, |r| r.counts.duplicated)
                + child("duplicated")
        )
    })?;
    Ok(())
}

/// Sets the group up on `target` and runs the load of `args` through it.
async fn measure(args: &GroupArgs, target: Target<'_>, prefix: &str) -> anyhow::Result<Report> {
    // Direct pairs in a child process are not this process's to set up.
    let pairs = if args.direct_process {
        0
    } else {
        args.direct_pairs
    };
    let (s, n) = (args.senders, args.online);
    let (transport, transport_name) = (args.transport.transport(), args.transport.name());
    let mut warnings = Vec::new();
    let per_sender = args.rate / s as f64;
    let per_pair = if pairs > 0 {
        args.direct_rate / pairs as f64
    } else {
        0.0
    };
    if per_sender > DEFAULT_SERVER_RATE || per_pair > DEFAULT_SERVER_RATE {
        eprintln!(
            "warning: a sender offers more than {DEFAULT_SERVER_RATE} msgs/s, the node's default \
             msgs_per_sec: run the node with --msgs-per-sec, --msgs-burst and --user-msgs-per-sec raised (docs/benchmarks.md)"
        );
    }

    // Setup: accounts, tokens, the group, the connections.
    let started = Instant::now();
    let mut times = SetupTimes::default();
    let admin = Admin::new(target.url, target.admin_token)?;
    let members: Vec<String> = (0..args.members)
        .map(|i| setup::member(prefix, i))
        .collect();
    let ds: Vec<String> = (0..pairs)
        .map(|i| setup::direct_sender(prefix, i))
        .collect();
    let dr: Vec<String> = (0..pairs)
        .map(|i| setup::direct_receiver(prefix, i))
        .collect();
    let accounts = [&members[..], &ds, &dr].concat();
    progress!("creating {} accounts (prefix {prefix})", accounts.len());
    let provisioned = admin.create_users(&accounts).await?;
    (times.users_created, times.users_existing) = (provisioned.created, provisioned.existing);
    times.provision_s = started.elapsed().as_secs_f64();
    let t = Instant::now();
    let online = [&members[..s + n], &ds, &dr].concat();
    let mut tokens = admin.tokens(&online).await?;
    let dr_tokens = tokens.split_off(s + n + pairs);
    let ds_tokens = tokens.split_off(s + n);
    let receiver_tokens = tokens.split_off(s);
    let sender_tokens = tokens;
    times.tokens_s = t.elapsed().as_secs_f64();
    let nodes = admin.dispatch(&sender_tokens[0]).await?;

    let t = Instant::now();
    progress!("setting up the group of {} members", members.len());
    let owner = setup::owner(&nodes[0], transport, &sender_tokens[0]).await?;
    let group = setup::group(&owner, prefix, &members).await?;
    owner.close().await;
    times.group_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let dial = setup::Dial {
        nodes: &nodes,
        transport,
        timeout: Duration::from_secs_f64(args.timeout),
        concurrency: args.connect_concurrency,
    };
    progress!(
        "connecting {} receivers, {s} senders and {pairs} direct pairs ({transport_name})",
        n
    );
    let conns = load::Connections {
        receivers: dial.open(&receiver_tokens, true).await?,
        direct_receivers: dial.open(&dr_tokens, true).await?,
        senders: dial.open(&sender_tokens, false).await?,
        direct_senders: dial.open(&ds_tokens, false).await?,
    };
    times.connect_s = t.elapsed().as_secs_f64();
    times.total_s = started.elapsed().as_secs_f64();

    let direct_process = if args.direct_process {
        progress!(
            "starting {} direct pairs in a child process",
            args.direct_pairs
        );
        let load = beside::DirectLoad {
            url: target.url,
            pairs: args.direct_pairs,
            rate: args.direct_rate,
            duration: args.duration,
            size: args.size,
            transport: transport_name,
            prefix: format!("{prefix}d"),
        };
        Some(beside::DirectProcess::start(load).await?)
    } else {
        None
    };
    progress!(
        "sending {} msgs/s to g:{} for {} s, {} deliveries/s owed",
        args.rate,
        group.id,
        args.warmup + args.duration,
        args.rate * n as f64
    );
    let plan = load::Plan {
        group_conv: format!("g:{}", group.id),
        direct_receivers: dr,
        rate_per_sender: if args.rate > 0.0 { per_sender } else { 0.0 },
        react_ratio: args.react_ratio,
        rate_per_pair: per_pair,
        size: args.size,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        drain: Duration::from_secs_f64(args.drain),
        max_in_flight: args.max_in_flight,
        server_pid: target.server_pid,
    };
    let m = load::run(conns, plan).await?;
    let (group_tally, direct_tally) = (m.group, m.direct);
    let reactions_ok = m.reactions.as_ref().is_none_or(|r| r.tally.correct());
    let direct_process = match direct_process {
        Some(child) => Some(child.finish().await?),
        None => None,
    };
    let child_ok = direct_process
        .as_ref()
        .is_none_or(|report| report["ok"].as_bool() == Some(true));

    for (what, tally) in [("group", &group_tally), ("direct", &direct_tally)] {
        if let Some(n) = tally.errors.get("rate_limited") {
            warnings.push(format!(
                "{n} {what} sends were refused with rate_limited: raise the node's msgs_per_sec, \
                 msgs_burst and user_msgs_per_sec (docs/benchmarks.md), or use more senders"
            ));
        }
        if tally.sent < tally.offered {
            warnings.push(format!(
                "{} of {} due {what} messages were never sent: the senders fell behind",
                tally.offered - tally.sent,
                tally.offered
            ));
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let report = Report {
        header: Header {
            bench: "group",
            transport: transport_name,
            url: target.url.to_owned(),
        },
        nodes: nodes.len(),
        members: args.members,
        online: n,
        senders: s,
        group: group.id,
        group_reused: group.reused,
        rate: args.rate,
        rate_per_sender: round(per_sender, 3),
        duration_s: args.duration,
        warmup_s: args.warmup,
        size: args.size,
        prefix: prefix.to_owned(),
        setup: SetupTimes {
            provision_s: round(times.provision_s, 3),
            tokens_s: round(times.tokens_s, 3),
            group_s: round(times.group_s, 3),
            connect_s: round(times.connect_s, 3),
            total_s: round(times.total_s, 3),
            ..times
        },
        traffic: Traffic::new(
            &group_tally,
            args.duration,
            m.send_to_ack,
            m.send_to_delivery,
        )
        .with_expected(group_tally.expected),
        reactions: m.reactions.map(|r| {
            let expected = r.tally.expected;
            let mut figures = r.figures(args.duration);
            figures.traffic = figures.traffic.with_expected(expected);
            figures
        }),
        send_lag: m.send_lag,
        direct: (pairs > 0).then(|| Direct {
            pairs,
            rate: args.direct_rate,
            traffic: Traffic::new(
                &direct_tally,
                args.duration,
                m.direct_send_to_ack,
                m.direct_send_to_delivery,
            )
            .with_expected(direct_tally.expected),
        }),
        drain_s: m.drain_s,
        load_s: m.load_s,
        bench_cpu_s: m.bench_cpu_s,
        server_cpu_s: m.server_cpu_s,
        server_cpu_us_per_delivery: m
            .server_cpu_s
            .filter(|_| m.deliveries > 0)
            .map(|cpu| round(cpu * 1e6 / m.deliveries as f64, 2)),
        direct_process,
        warnings,
        ok: group_tally.correct() && direct_tally.correct() && reactions_ok && child_ok,
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GroupArgs,
    }

    fn checked(extra: &[&str]) -> anyhow::Result<()> {
        let argv = [&["group", "--admin-token", "t"], extra].concat();
        check(&Cli::try_parse_from(argv).expect("parses").args)
    }

    #[test]
    fn direct_process_needs_pairs_and_a_warmup_covering_the_childs() {
        let refused = |extra: &[&str]| {
            let e = checked(extra).expect_err("refused").to_string();
            assert!(e.contains("--direct-process"), "{e}");
        };
        refused(&["--direct-process", "--warmup", "1"]);
        refused(&["--direct-process", "--direct-pairs", "2"]);
        refused(&["--direct-process", "--direct-pairs", "2", "--warmup", "0.5"]);
        checked(&["--direct-process", "--direct-pairs", "2", "--warmup", "1"]).expect("accepted");
    }
}
