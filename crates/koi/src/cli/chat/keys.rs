//! The keyboard and the mouse: what each key does to the screen's state.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::effect::Effect;
use super::state::Chat;

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
            Vec::new()
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
        KeyCode::Char(c) => chat.editor.insert(c),
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
