//! What a typed line means: a message, or a `/command`.

/// One submitted line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Text for the current conversation (`//x` is the text `/x`).
    Text(String),
    Command(Command),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/to USER`
    To(String),
    /// `/group NAME`: one of your groups, by name (or `g:ID`).
    Group(String),
    /// `/group create NAME [MEMBERS...]`
    GroupCreate {
        name: String,
        members: Vec<String>,
    },
    /// `/group join ID`
    GroupJoin(String),
    /// `/group leave`: the open group.
    GroupLeave,
    /// `/group info`: the open group's members.
    GroupInfo,
    /// `/file PATH`
    File(String),
    /// `/edit [SEQ] TEXT`: your latest message, or message SEQ.
    Edit {
        seq: Option<u64>,
        text: String,
    },
    /// `/react EMOJI [SEQ]`: the latest message, or message SEQ.
    React {
        emoji: String,
        seq: Option<u64>,
    },
    /// `/unreact EMOJI [SEQ]`: takes back one's reaction.
    Unreact {
        emoji: String,
        seq: Option<u64>,
    },
    /// `/readby [SEQ]`: who read one's latest message, or message SEQ.
    ReadBy(Option<u64>),
    /// `/reply SEQ TEXT`
    Reply {
        seq: u64,
        text: String,
    },
    /// `/search WORDS`: in every conversation.
    Search(String),
    /// `/sessions`
    Sessions,
    /// `/sessions end ID`
    EndSession(String),
    /// `/logout [all]`
    Logout {
        all: bool,
    },
    Help,
    Quit,
}

/// Why a `/command` was not understood: the usage to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

/// The usage of every command, for `/help`.
pub const HELP: &[&str] = &[
    "/to USER                        write to USER (checked: they must exist)",
    "/group NAME                     one of your groups, by name (a choice when several match)",
    "/group create NAME [MEMBERS..]  create a group and open it",
    "/group join ID                  join a public group and open it",
    "/group leave                    leave the open group",
    "/group info                     the open group's members",
    "/file PATH                      send a file",
    "/edit [SEQ] TEXT                change your latest message (or #SEQ)",
    "/react EMOJI [SEQ]              react to the latest message (or #SEQ)",
    "/unreact EMOJI [SEQ]            take your reaction back",
    "/readby [SEQ]                   who read your latest message (or #SEQ)",
    "/reply SEQ TEXT                 answer message #SEQ",
    "/search WORDS                   find messages in all your conversations",
    "/sessions                       your logged-in devices",
    "/sessions end ID                log that device out",
    "/logout [all]                   log out (all: every device) and leave",
    "/help                           this text (Esc closes it)",
    "/quit                           leave (or Ctrl-C)",
    "//text                          send a text that begins with /",
    "keys: Tab/Shift-Tab, Up/Down, Ctrl-N/Ctrl-P switch conversations; PageUp/PageDown",
    "      scroll; Ctrl-L redraws; Ctrl-U clears the line; Esc closes this panel",
];

/// `text` after its first word `word`, trimmed.
fn after<'a>(text: &'a str, word: &str) -> &'a str {
    text.trim_start()
        .strip_prefix(word)
        .unwrap_or_default()
        .trim()
}

/// Parses one line; `Ok(None)` for a blank one.
pub fn parse(line: &str) -> Result<Option<Input>, Usage> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if line.starts_with("//") {
        return Ok(Some(Input::Text(line[1..].to_owned())));
    }
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Some(Input::Text(line.to_owned())));
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    let usage = |text: &str| Err(Usage(format!("usage: {text}")));
    let command = match words.as_slice() {
        ["to", user] => Command::To((*user).to_owned()),
        ["to", ..] => return usage("/to USER"),
        ["group", "create", name, members @ ..] => Command::GroupCreate {
            name: (*name).to_owned(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        },
        ["group", "join", id] => Command::GroupJoin((*id).to_owned()),
        ["group", "leave"] => Command::GroupLeave,
        ["group", "info"] => Command::GroupInfo,
        ["group", "create" | "join" | "leave" | "info", ..] | ["group"] => {
            return usage(
                "/group NAME, /group create NAME [MEMBERS..], /group join ID, /group leave, /group info",
            );
        }
        ["group", ..] => Command::Group(words[1..].join(" ")),
        ["file", _, ..] => {
            let path = command
                .trim_start()
                .strip_prefix("file")
                .unwrap_or_default();
            Command::File(path.trim().to_owned())
        }
        ["edit", first, ..] => {
            let rest = after(command, "edit");
            match first.parse::<u64>() {
                Ok(seq) if words.len() > 2 => Command::Edit {
                    seq: Some(seq),
                    text: after(rest, first).to_owned(),
                },
                _ => Command::Edit {
                    seq: None,
                    text: rest.to_owned(),
                },
            }
        }
        ["react", emoji] => Command::React {
            emoji: (*emoji).to_owned(),
            seq: None,
        },
        ["react", emoji, seq] => match seq.parse() {
            Ok(seq) => Command::React {
                emoji: (*emoji).to_owned(),
                seq: Some(seq),
            },
            Err(_) => return usage("/react EMOJI [SEQ]"),
        },
        ["unreact", emoji] => Command::Unreact {
            emoji: (*emoji).to_owned(),
            seq: None,
        },
        ["unreact", emoji, seq] => match seq.parse() {
            Ok(seq) => Command::Unreact {
                emoji: (*emoji).to_owned(),
                seq: Some(seq),
            },
            Err(_) => return usage("/unreact EMOJI [SEQ]"),
        },
        ["readby"] => Command::ReadBy(None),
        ["readby", seq] => match seq.parse() {
            Ok(seq) => Command::ReadBy(Some(seq)),
            Err(_) => return usage("/readby [SEQ]"),
        },
        ["reply", seq, _, ..] => match seq.parse() {
            Ok(n) => Command::Reply {
                seq: n,
                text: after(after(command, "reply"), seq).to_owned(),
            },
            Err(_) => return usage("/reply SEQ TEXT"),
        },
        ["search", _, ..] => Command::Search(after(command, "search").to_owned()),
        [
            "edit" | "react" | "unreact" | "readby" | "reply" | "search",
            ..,
        ] => {
            return usage(
                "/edit [SEQ] TEXT, /react EMOJI [SEQ], /unreact EMOJI [SEQ], /readby [SEQ], \
                 /reply SEQ TEXT, /search WORDS",
            );
        }
        ["sessions"] => Command::Sessions,
        ["sessions", "end", id] => Command::EndSession((*id).to_owned()),
        ["sessions", ..] => return usage("/sessions, /sessions end ID"),
        ["logout"] => Command::Logout { all: false },
        ["logout", "all"] => Command::Logout { all: true },
        ["logout", ..] => return usage("/logout [all]"),
        ["help" | "h" | "?"] => Command::Help,
        ["quit" | "exit" | "q"] => Command::Quit,
        _ => {
            return Err(Usage(format!(
                "unknown command /{} (try /help; //text sends a text beginning with /)",
                words.first().copied().unwrap_or("")
            )));
        }
    };
    Ok(Some(Input::Command(command)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> Command {
        match parse(line) {
            Ok(Some(Input::Command(c))) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn lines_are_texts_unless_they_begin_with_one_slash() {
        assert_eq!(parse("clear"), Ok(Some(Input::Text("clear".into()))));
        assert_eq!(parse("//to bob"), Ok(Some(Input::Text("/to bob".into()))));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn commands_take_their_arguments() {
        assert_eq!(command("/to bob"), Command::To("bob".into()));
        assert_eq!(
            command("/group the team"),
            Command::Group("the team".into())
        );
        assert_eq!(
            command("/group create team bob carol"),
            Command::GroupCreate {
                name: "team".into(),
                members: vec!["bob".into(), "carol".into()]
            }
        );
        assert_eq!(command("/group info"), Command::GroupInfo);
        assert_eq!(
            command("/edit 7 new  words"),
            Command::Edit {
                seq: Some(7),
                text: "new  words".into()
            }
        );
        assert_eq!(
            command("/edit 42"),
            Command::Edit {
                seq: None,
                text: "42".into()
            }
        );
        assert_eq!(
            command("/reply 3 yes, 3"),
            Command::Reply {
                seq: 3,
                text: "yes, 3".into()
            }
        );
        assert_eq!(
            command("/react 👍"),
            Command::React {
                emoji: "👍".into(),
                seq: None
            }
        );
        assert_eq!(
            command("/unreact 👍 5"),
            Command::Unreact {
                emoji: "👍".into(),
                seq: Some(5)
            }
        );
        assert_eq!(command("/readby"), Command::ReadBy(None));
        assert_eq!(command("/readby 9"), Command::ReadBy(Some(9)));
        assert_eq!(
            command("/search two words"),
            Command::Search("two words".into())
        );
        assert_eq!(command("/logout all"), Command::Logout { all: true });
        assert_eq!(
            command("/sessions end s1"),
            Command::EndSession("s1".into())
        );
        assert_eq!(
            command("/file my notes.txt"),
            Command::File("my notes.txt".into())
        );
    }

    #[test]
    fn a_wrong_command_says_how_to_use_it() {
        assert!(parse("/to").is_err_and(|u| u.0.contains("/to USER")));
        assert!(parse("/clear").is_err_and(|u| u.0.contains("unknown command /clear")));
        assert!(parse("/readby last").is_err_and(|u| u.0.contains("/readby [SEQ]")));
        assert!(parse("/unreact").is_err_and(|u| u.0.contains("/unreact EMOJI")));
    }
}
