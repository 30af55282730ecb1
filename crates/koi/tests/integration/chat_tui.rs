//! `koi chat` in a real terminal: tmux runs it for alice at 120×40 against the
//! deployment; the test types with `send-keys` and reads the screen with
//! `capture-pane`, while bob and carol talk through the client library from
//! (in a cluster) other nodes. Needs `tmux` (scripts/test installs it).

use koi_client::{Api, Transport};

use koi_proto::frame::Op;

use crate::harness::{
    Endpoint, Koi, PASSWORD, Tmux, Topology, next_msg, next_push, on_each_topology, register_login,
    unique,
};

on_each_topology!(chat_in_a_terminal);

/// Alice's screen lists her conversations with unread counts and marks who is
/// online (bob, a co-member; never carol, whose presence alice may not see),
/// refuses an unknown user, opens one by `/to` and one by group name, tells
/// bob she is typing and shows when he is, sends in the order typed (marked ✓,
/// then ✓✓ once read), receives live, switches with Tab, counts a message to
/// another conversation as unread, lists a group's members and who read a
/// message, reacts and takes it back, and `/quit` leaves with status 0 and the
/// terminal restored.
async fn chat_in_a_terminal(topology: Topology) {
    let koi = Koi::start(topology).await;
    let alice = unique("alice");
    register_login(&koi, &alice).await;
    let (bob, b1) = koi.user("bob", Transport::TcpProtobuf).await;
    let (carol, c1) = koi.user("carol", Transport::WsJson).await;
    let team = b1
        .group_create("team", [alice.as_str()], false)
        .await
        .unwrap();
    c1.send_text(&alice, "c1", "hi from carol").await.unwrap();
    b1.send_text(&alice, "b1", "first from bob").await.unwrap();

    let tmux = Tmux::start(&format!(
        // The shell says how the chat ended, on the terminal it restored, and
        // keeps the pane open (tmux drops what a pane wrote as it closes).
        "env KOI_LOG=off KOI_PASSWORD='{PASSWORD}' {} chat --url {} --user {alice}; \
         echo \"koi chat exited $?\"; exec cat",
        env!("CARGO_BIN_EXE_koi"),
        koi.node(0).base(),
    ));
    let (bob_unread, carol_unread) = (format!("{bob} (1)"), format!("{carol} (1)"));
    tmux.wait_for("the list with unread counts", |s| {
        s.contains(&bob_unread) && s.contains(&carol_unread) && s.contains("#team")
    })
    .await;
    // One `presence` request answers for both; the mark ends a list line.
    let online = |s: &str, user: &str| s.lines().any(|l| l.contains(user) && l.contains('●'));
    let screen = tmux
        .wait_for("bob marked online", |s| online(s, &bob))
        .await;
    assert!(
        !online(&screen, &carol),
        "carol's presence is not alice's to see:\n{screen}"
    );

    tmux.line("/to nobody");
    let screen = tmux
        .wait_for("the unknown user refused", |s| {
            s.contains("no user named nobody")
        })
        .await;
    assert!(!screen.contains("to nobody ›"), "no switch:\n{screen}");

    tmux.line(&format!("/to {bob}"));
    let to_bob = format!("to {bob} ›");
    let from_bob = |text: &str| format!("{bob}: {text}");
    let screen = tmux
        .wait_for("the conversation with bob", |s| {
            s.contains(&to_bob) && s.contains(&from_bob("first from bob"))
        })
        .await;
    assert!(!screen.contains("d:"), "no raw ids:\n{screen}");
    tmux.wait_for("bob's message read", |s| !s.contains(&bob_unread))
        .await;

    // A key typed tells bob; the line is cleared again.
    tmux.keys(&["x"]);
    let typing = next_push(&b1, |op| match op {
        Op::Typing(t) => Some(t),
        _ => None,
    })
    .await;
    assert_eq!(typing.user.as_deref(), Some(alice.as_str()));
    tmux.keys(&["BSpace"]);

    // Lines typed one after the other arrive in that order.
    tmux.line("hello bob");
    tmux.line("how are you?");
    let got = next_msg(&b1).await;
    assert_eq!(
        (got.from.as_str(), got.text.as_deref()),
        (alice.as_str(), Some("hello bob"))
    );
    let second = next_msg(&b1).await;
    assert_eq!(second.text.as_deref(), Some("how are you?"));
    assert_eq!(second.seq, got.seq + 1);
    let sent = format!("{alice}: hello bob ✓");
    tmux.wait_for("the sent mark", |s| s.contains(&sent)).await;
    b1.read(&got.conv, got.seq).await.unwrap();
    let read = format!("{alice}: hello bob ✓✓");
    tmux.wait_for("the read mark", |s| s.contains(&read)).await;
    b1.typing(&got.conv).await.unwrap();
    tmux.wait_for("bob typing", |s| s.contains("· typing…"))
        .await;
    b1.send_text(&alice, "b2", "live from bob").await.unwrap();
    tmux.wait_for("bob's live message, and his typing over", |s| {
        s.contains(&from_bob("live from bob")) && !s.contains("typing…")
    })
    .await;

    // Tab walks the list until carol's conversation is open.
    let to_carol = format!("to {carol} ›");
    for _ in 0..3 {
        tmux.keys(&["Tab"]);
        let screen = tmux
            .wait_for("another conversation", |s| !s.contains(&to_bob))
            .await;
        if screen.contains(&to_carol) {
            break;
        }
    }
    let from_carol = format!("{carol}: hi from carol");
    tmux.wait_for("carol's conversation", |s| {
        s.contains(&to_carol) && s.contains(&from_carol)
    })
    .await;
    b1.send_text(&alice, "b3", "while you were away")
        .await
        .unwrap();
    tmux.wait_for("an unread count for bob", |s| s.contains(&bob_unread))
        .await;

    tmux.line("/group team");
    tmux.wait_for("the group by name", |s| s.contains("#team ›"))
        .await;
    tmux.line("hi team");
    let got = next_msg(&b1).await;
    assert_eq!(got.conv, format!("g:{}", team.id));
    assert_eq!(got.text.as_deref(), Some("hi team"));
    b1.read(&got.conv, got.seq).await.unwrap();
    tmux.line("/readby");
    let read_by = format!("#{} read by 1", got.seq);
    tmux.wait_for("who read it", |s| {
        s.contains(&read_by) && s.contains(&format!("  {bob}"))
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.line("/react +1");
    tmux.wait_for("the reaction", |s| {
        s.contains(&format!("+1 on #{}", got.seq))
    })
    .await;
    tmux.line("/unreact +1");
    tmux.wait_for("the reaction taken back", |s| {
        s.contains(&format!("+1 taken back from #{}", got.seq))
    })
    .await;

    // §11: an edit marks the message; a search lists what it finds.
    tmux.line("/edit hi team, edited");
    let edited = format!("{alice}: hi team, edited (edited)");
    tmux.wait_for("the edited mark", |s| s.contains(&edited))
        .await;
    tmux.line("/search away");
    let found = format!("{bob}: while you were away");
    tmux.wait_for("the search results", |s| {
        s.contains("1 found for \"away\"") && s.contains(&found)
    })
    .await;
    tmux.keys(&["Escape"]);

    tmux.line("/group info");
    let (owner, member) = (format!("{bob} (owner)"), format!("{alice} (member)"));
    tmux.wait_for("the group's members", |s| {
        s.contains(&owner) && s.contains(&member)
    })
    .await;
    tmux.keys(&["Escape"]);
    let hi_team = format!("{alice}: hi team, edited");
    tmux.wait_for("the panel closed", |s| s.contains(&hi_team))
        .await;

    tmux.keys(&["C-l"]);
    tmux.wait_for("a redrawn screen", |s| s.contains("#team ›"))
        .await;
    tmux.line("/quit");
    let title = format!("koi · {alice}");
    let screen = tmux
        .wait_for("the chat ended", |s| s.contains("koi chat exited"))
        .await;
    assert!(screen.contains("koi chat exited 0"), "{screen}");
    assert!(!screen.contains(&title), "the terminal restored:\n{screen}");
}
