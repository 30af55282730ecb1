//! Nothing acknowledged is ever lost: SIGKILL mid-stream, restart, and every
//! acknowledged message is in `history` with its seq and text.
//!
//! Embedded only: this is about one process dying and coming back on its own
//! data dir. (A cluster node killed while its clients send is
//! `cluster::a_killed_node_loses_nothing`.)

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use koi_client::{Api, Transport};

use crate::harness::{Endpoint, Koi, TRANSPORTS, Topology, login};

/// How many messages the client tries to send; the node is killed once
/// [`KILL_AFTER`] of them have been acknowledged, with sends still in flight.
const ATTEMPTS: usize = 3000;
const KILL_AFTER: usize = 1200;
/// Sends in flight at once, so that the kill lands in the middle of group commits.
const IN_FLIGHT: usize = 64;

/// A client sends ≥ 1,000 messages; the node is SIGKILLed mid-stream and restarted
/// on the same data dir; every acknowledged message is in history with its seq
/// and text, seqs are gapless, and nothing was stored twice.
#[tokio::test]
async fn sigkill_loses_no_acknowledged_message() {
    for transport in TRANSPORTS {
        let mut koi = Koi::start_with(
            Topology::Embedded,
            &[
                "--user-msgs-per-sec",
                "1000000",
                "--msgs-per-sec",
                "1000000",
                "--msgs-burst",
                "1000000",
            ],
        )
        .await;
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, _b) = koi.user("bob", transport).await;
        let a = Arc::new(a);

        let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
        let sender = {
            let a = a.clone();
            let bob = bob.clone();
            tokio::spawn(async move {
                let mut in_flight = FuturesUnordered::new();
                for i in 0..ATTEMPTS {
                    if in_flight.len() >= IN_FLIGHT {
                        match in_flight.next().await {
                            Some(Ok(())) => {}
                            Some(Err(())) | None => return,
                        }
                    }
                    let a = a.clone();
                    let bob = bob.clone();
                    let acked_tx = acked_tx.clone();
                    in_flight.push(async move {
                        let text = format!("durable message {i}");
                        let cmid = format!("d{i}");
                        match a.send_text(&bob, &cmid, &text).await {
                            Ok(ok) => {
                                let _ = acked_tx.send((ok.seq, text, ok.conv));
                                Ok(())
                            }
                            Err(_) => Err(()),
                        }
                    });
                }
                while in_flight.next().await.is_some() {}
            })
        };

        let mut acked: HashMap<u64, String> = HashMap::new();
        let mut conv = String::new();
        while acked.len() < KILL_AFTER {
            let (seq, text, c) = acked_rx.recv().await.expect("sends are acknowledged");
            conv = c;
            assert!(
                acked.insert(seq, text).is_none(),
                "seq {seq} acknowledged twice"
            );
        }
        koi.node_mut(0).kill();
        let _ = sender.await;
        // Acks that raced the kill are still acknowledgements: collect them all.
        while let Ok((seq, text, _)) = acked_rx.try_recv() {
            assert!(
                acked.insert(seq, text).is_none(),
                "seq {seq} acknowledged twice"
            );
        }
        assert!(acked.len() >= KILL_AFTER);

        koi.node_mut(0).restart();
        let token = login(&koi, &alice).await;
        let a = koi.connect(&token, Transport::WsJson).await;
        let mut stored = Vec::new();
        let mut after = 0;
        loop {
            let page = a
                .history(&conv, Some(after), None, Some(200))
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.seq;
            stored.extend(page);
        }
        let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            (1..=stored.len() as u64).collect::<Vec<_>>(),
            "gapless seq after restart"
        );
        let by_seq: HashMap<u64, &str> = stored
            .iter()
            .map(|m| (m.seq, m.text.as_deref().unwrap_or("")))
            .collect();
        for (seq, text) in &acked {
            assert_eq!(
                by_seq.get(seq).copied(),
                Some(text.as_str()),
                "{transport:?}: acknowledged seq {seq} lost"
            );
        }
        let mut cmids: Vec<&str> = stored.iter().map(|m| m.client_msg_id.as_str()).collect();
        cmids.sort_unstable();
        cmids.dedup();
        assert_eq!(cmids.len(), stored.len(), "no message stored twice");
        // The restarted node keeps numbering where it left off.
        let next = a
            .send_text(&bob, "after-restart", "still here")
            .await
            .unwrap();
        assert_eq!(next.seq, stored.len() as u64 + 1);
    }
}
