//! The keyboard and the mouse: what each key does to the screen's state.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::effect::Effect;
use super::state::{Chat, now_ms};

/// Lines the mouse wheel scrolls.
const WHEEL: usize = 3;

/// Applies one terminal event.
pub fn handle(chat: &mut Chat, event: Event) -> Vec<Effect> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_press(chat, key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollUp => chat.scroll_up(WHEEL),
            MouseEventKind::ScrollDown => {
                chat.scroll_down(WHEEL);
                Vec::new()
            }
            _ => Vec::new(),
        },
        Event::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                chat.editor.insert(c);
            }
            chat.typed(now_ms())
        }
        _ => Vec::new(),
    }
}

fn key_press(chat: &mut Chat, key: KeyEvent) -> Vec<Effect> {
    let page = chat.page.max(2) - 1;
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        match key.code {
            KeyCode::Char('c') => chat.quit = true,
            KeyCode::Char('d') if chat.editor.is_empty() => chat.quit = true,
            KeyCode::Char('l') => chat.redraw = true,
            KeyCode::Char('n') => return chat.switch(1),
            KeyCode::Char('p') => return chat.switch(-1),
            KeyCode::Char('u') => drop(chat.editor.take()),
            KeyCode::Char('a') => chat.editor.home(),
            KeyCode::Char('e') => chat.editor.end(),
            _ => {}
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter => return chat.submit(),
        KeyCode::Tab | KeyCode::Down => return chat.switch(1),
        KeyCode::BackTab | KeyCode::Up => return chat.switch(-1),
        KeyCode::PageUp => return chat.scroll_up(page),
        KeyCode::PageDown => chat.scroll_down(page),
        KeyCode::Esc => chat.dismiss(),
        KeyCode::Char(c) => {
            chat.editor.insert(c);
            return chat.typed(now_ms());
        }
        KeyCode::Backspace => chat.editor.backspace(),
        KeyCode::Delete => chat.editor.delete(),
        KeyCode::Left => chat.editor.left(),
        KeyCode::Right => chat.editor.right(),
        KeyCode::Home => chat.editor.home(),
        KeyCode::End => chat.editor.end(),
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::chat::clock::Clock;

    fn press(chat: &mut Chat, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        handle(chat, Event::Key(KeyEvent::new(code, modifiers)))
    }

    #[test]
    fn control_keys_redraw_leave_and_edit() {
        let mut chat = Chat::new("alice", Clock::default());
        for c in "/to".chars() {
            press(&mut chat, KeyCode::Char(c), KeyModifiers::NONE);
        }
        assert_eq!(chat.editor.text(), "/to");
        press(&mut chat, KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert!(chat.redraw, "Ctrl-L redraws");
        assert_eq!(chat.editor.text(), "/to", "and types nothing");
        press(&mut chat, KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert!(chat.editor.is_empty());
        assert!(!chat.quit);
        press(&mut chat, KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(chat.quit);
    }

    #[test]
    fn tab_and_arrows_walk_the_list() {
        let mut chat = Chat::new("alice", Clock::default());
        for (conv, ts) in [("d:alice:bob", 2), ("d:alice:carol", 1)] {
            let m = koi_client::proto::Message {
                conv: conv.into(),
                seq: 1,
                from: "x".into(),
                ts,
                ..Default::default()
            };
            chat.push(koi_client::proto::frame::Op::Msg(m));
        }
        press(&mut chat, KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(chat.current.as_deref(), Some("d:alice:bob"));
        press(&mut chat, KeyCode::Down, KeyModifiers::NONE);
        assert_eq!(chat.current.as_deref(), Some("d:alice:carol"));
        press(&mut chat, KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(chat.current.as_deref(), Some("d:alice:bob"), "round");
        press(&mut chat, KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(chat.current.as_deref(), Some("d:alice:carol"));
    }
}
