//! How the screen's state follows commands, pushes and replies.

use koi_client::proto::frame::Op;
use koi_client::proto::{ConvSummary, Message, Receipt};

use super::clock::Clock;
use super::effect::{Effect, Outcome};
use super::state::Chat;

fn group(id: &str, name: &str, last_seq: u64) -> ConvSummary {
    ConvSummary {
        conv: format!("g:{id}"),
        kind: "group".into(),
        group: Some(id.into()),
        name: Some(name.into()),
        last_seq,
        read_seq: 0,
        last_ts: last_seq,
        peer: None,
        ..Default::default()
    }
}

fn msg(conv: &str, seq: u64, from: &str) -> Message {
    Message {
        conv: conv.into(),
        seq,
        from: from.into(),
        kind: "text".into(),
        text: Some("hi".into()),
        ts: seq,
        ..Default::default()
    }
}

fn typed(chat: &mut Chat, line: &str) -> Vec<Effect> {
    for c in line.chars() {
        chat.editor.insert(c);
    }
    chat.submit()
}

#[test]
fn a_message_elsewhere_is_unread_and_one_here_is_read() {
    let mut chat = Chat::new("alice", Clock::default());
    chat.outcome(Outcome::Synced(vec![group("1", "team", 0)]));
    assert_eq!(
        chat.push(Op::Msg(msg("d:alice:bob", 1, "bob"))),
        [Effect::Sync],
        "a new conversation: the list is refreshed"
    );
    assert_eq!(chat.conv("d:alice:bob").map(|c| c.unread()), Some(1));
    let opened = chat.open("d:alice:bob");
    assert!(opened.contains(&Effect::Read {
        conv: "d:alice:bob".into(),
        seq: 1
    }));
    assert_eq!(
        chat.push(Op::Msg(msg("d:alice:bob", 2, "bob"))),
        [Effect::Read {
            conv: "d:alice:bob".into(),
            seq: 2
        }]
    );
    assert_eq!(chat.conv("d:alice:bob").map(|c| c.unread()), Some(0));
    chat.push(Op::Receipt(Receipt {
        conv: "d:alice:bob".into(),
        user: "bob".into(),
        seq: 2,
    }));
    assert_eq!(chat.conv("d:alice:bob").map(|c| c.peer_read), Some(2));
}

#[test]
fn to_checks_a_new_user_and_refuses_yourself() {
    let mut chat = Chat::new("alice", Clock::default());
    assert_eq!(
        typed(&mut chat, "/to bob"),
        [Effect::CheckUser("bob".into())]
    );
    assert_eq!(chat.prompt(), "› ", "no switch before the answer");
    chat.outcome(Outcome::UserExists("bob".into()));
    assert_eq!(chat.prompt(), "to bob › ");
    assert!(typed(&mut chat, "/to alice").is_empty());
    assert_eq!(chat.prompt(), "to bob › ");
    assert!(matches!(
        typed(&mut chat, "//help").as_slice(),
        [Effect::Send { text, to: Some(to), .. }] if text == "/help" && to == "bob"
    ));
}

#[test]
fn several_groups_of_one_name_are_a_choice() {
    let mut chat = Chat::new("alice", Clock::default());
    chat.outcome(Outcome::Synced(vec![
        group("1", "team", 2),
        group("2", "Team", 1),
        group("3", "other", 0),
    ]));
    assert!(typed(&mut chat, "/group team").is_empty());
    assert_eq!(chat.prompt(), "choose 1-2 › ");
    assert!(typed(&mut chat, "7").is_empty(), "not a choice");
    typed(&mut chat, "2");
    assert_eq!(chat.current.as_deref(), Some("g:2"));
    assert_eq!(chat.prompt(), "#Team › ");
    typed(&mut chat, "/group other");
    assert_eq!(chat.current.as_deref(), Some("g:3"));
    assert_eq!(
        typed(&mut chat, "/group new"),
        [Effect::Sync],
        "looked up again"
    );
    chat.outcome(Outcome::Synced(vec![group("4", "new", 0)]));
    assert_eq!(chat.current.as_deref(), Some("g:4"));
    typed(&mut chat, "/group nope");
    assert!(chat.outcome(Outcome::Synced(Vec::new())).is_empty());
    assert_eq!(chat.current.as_deref(), Some("g:4"));
    assert!(
        chat.status.contains("no group named nope"),
        "{}",
        chat.status
    );
}

#[test]
fn unread_counts_follow_sync_pushes_and_other_devices() {
    let mut chat = Chat::new("alice", Clock::default());
    let direct = |last_seq, read_seq| ConvSummary {
        conv: "d:alice:bob".into(),
        kind: "direct".into(),
        peer: Some("bob".into()),
        last_seq,
        read_seq,
        unread: last_seq - read_seq,
        last_ts: last_seq,
        ..Default::default()
    };
    let unread = |chat: &Chat| chat.conv("d:alice:bob").map(|c| c.unread());
    chat.outcome(Outcome::Synced(vec![direct(3, 1)]));
    assert_eq!(unread(&chat), Some(2));
    // A push of a message the sync already counted counts once.
    chat.push(Op::Msg(msg("d:alice:bob", 3, "bob")));
    assert_eq!(unread(&chat), Some(2));
    chat.push(Op::Msg(msg("d:alice:bob", 4, "bob")));
    chat.push(Op::Msg(msg("d:alice:bob", 5, "alice")));
    assert_eq!(unread(&chat), Some(0), "one's own message reads the rest");
    chat.push(Op::Msg(msg("d:alice:bob", 6, "bob")));
    chat.push(Op::Msg(msg("d:alice:bob", 7, "bob")));
    assert_eq!(unread(&chat), Some(2));
    // Read up to 6 on another device.
    chat.push(Op::Receipt(Receipt {
        conv: "d:alice:bob".into(),
        user: "alice".into(),
        seq: 6,
    }));
    assert_eq!(unread(&chat), Some(1));
}

fn direct(peer: &str, last_seq: u64) -> ConvSummary {
    ConvSummary {
        conv: format!("d:alice:{peer}"),
        kind: "direct".into(),
        peer: Some(peer.into()),
        last_seq,
        read_seq: last_seq,
        last_ts: last_seq,
        ..Default::default()
    }
}

#[test]
fn typing_shows_until_its_time_or_their_message_and_is_told_sparingly() {
    use koi_client::proto::Typing;
    let mut chat = Chat::new("alice", Clock::default());
    chat.outcome(Outcome::Synced(vec![direct("bob", 1)]));
    chat.open("d:alice:bob");
    let push = |user: &str| {
        Op::Typing(Typing {
            conv: "d:alice:bob".into(),
            user: Some(user.into()),
        })
    };
    chat.push(push("bob"));
    chat.push(push("alice"));
    let now = super::state::now_ms();
    assert_eq!(chat.typing_in("d:alice:bob", now), ["bob"], "not oneself");
    assert!(
        chat.typing_in("d:alice:bob", now + super::state::TYPING_SHOWN_MS + 1)
            .is_empty(),
        "it ends by itself"
    );
    chat.push(Op::Msg(msg("d:alice:bob", 2, "bob")));
    assert!(
        chat.typing_in("d:alice:bob", now).is_empty(),
        "their message ends it"
    );

    chat.editor.insert('h');
    assert_eq!(chat.typed(1_000), [Effect::Typing("d:alice:bob".into())]);
    chat.editor.insert('i');
    assert!(chat.typed(2_000).is_empty(), "not again so soon");
    assert_eq!(chat.typed(4_500), [Effect::Typing("d:alice:bob".into())]);
    drop(chat.editor.take());
    chat.editor.insert('/');
    assert!(chat.typed(9_000).is_empty(), "commands are not typing");
}

#[test]
fn direct_peers_online_come_from_presence_and_its_pushes() {
    use koi_client::proto::Presence;
    let mut chat = Chat::new("alice", Clock::default());
    let effects = chat.outcome(Outcome::Synced(vec![
        direct("bob", 1),
        direct("carol", 2),
        group("1", "team", 3),
    ]));
    let asked = effects
        .iter()
        .find_map(|e| match e {
            Effect::Presence(users) => Some(users.clone()),
            _ => None,
        })
        .expect("presence is asked after sync");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.contains(&"bob".to_owned()) && asked.contains(&"carol".to_owned()));
    chat.outcome(Outcome::Online {
        asked,
        online: vec!["bob".into()],
    });
    assert!(chat.online.contains("bob") && !chat.online.contains("carol"));
    let presence = |user: &str, online: bool| {
        Op::Presence(Presence {
            users: Vec::new(),
            user: Some(user.into()),
            online: Some(online),
        })
    };
    chat.push(presence("carol", true));
    chat.push(presence("bob", false));
    assert!(chat.online.contains("carol") && !chat.online.contains("bob"));

    // Past the server's bound per request, presence is asked in parts.
    let many: Vec<ConvSummary> = (0..=super::incoming::PRESENCE_QUERY)
        .map(|i| direct(&format!("u{i}"), 1))
        .collect();
    let parts: Vec<usize> = chat
        .outcome(Outcome::Synced(many))
        .iter()
        .filter_map(|e| match e {
            Effect::Presence(users) => Some(users.len()),
            _ => None,
        })
        .collect();
    assert_eq!(
        parts.iter().sum::<usize>(),
        super::incoming::PRESENCE_QUERY + 3,
        "every direct peer, bob and carol too"
    );
    assert!(
        parts.len() == 2 && parts.iter().all(|&n| n <= super::incoming::PRESENCE_QUERY),
        "{parts:?}"
    );
}

#[test]
fn readby_and_unreact_target_a_message_of_the_open_conversation() {
    let mut chat = Chat::new("alice", Clock::default());
    chat.outcome(Outcome::Synced(vec![group("1", "team", 0)]));
    chat.open("g:1");
    assert!(typed(&mut chat, "/readby").is_empty(), "no message yet");
    chat.push(Op::Msg(msg("g:1", 1, "alice")));
    chat.push(Op::Msg(msg("g:1", 2, "bob")));
    assert_eq!(
        typed(&mut chat, "/readby"),
        [Effect::ReadBy {
            conv: "g:1".into(),
            seq: 1
        }],
        "one's own latest message"
    );
    assert_eq!(
        typed(&mut chat, "/unreact 👍"),
        [Effect::Unreact {
            conv: "g:1".into(),
            seq: 2,
            emoji: "👍".into()
        }],
        "the latest message"
    );
    chat.outcome(Outcome::Panel(vec!["#1 read by 1 (Esc closes):".into()]));
    assert_eq!(chat.panel.len(), 1);
}
