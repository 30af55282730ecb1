//! Draws the screen: the conversation list with unread counts, the open
//! conversation (or the panel), a status line and the prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph, Wrap};

use super::conversation::Place;
use super::state::{Chat, now_ms};
use super::transcript::{Mark, entries};

/// The width of the conversation list, borders included.
const LIST_WIDTH: u16 = 26;

pub fn draw(frame: &mut Frame, chat: &mut Chat) {
    let [main, status, prompt] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [list, messages] =
        Layout::horizontal([Constraint::Length(LIST_WIDTH), Constraint::Min(10)]).areas(main);
    draw_list(frame, chat, list);
    draw_messages(frame, chat, messages);
    frame.render_widget(Paragraph::new(chat.status.as_str()).italic(), status);
    draw_prompt(frame, chat, prompt);
}

fn draw_list(frame: &mut Frame, chat: &Chat, area: Rect) {
    let items: Vec<ListItem> = chat
        .convs
        .iter()
        .map(|c| {
            let open = chat.current.as_deref() == Some(c.conv.as_str());
            let marker = if open { "▸ " } else { "  " };
            let mut spans = vec![Span::raw(marker), Span::raw(c.title())];
            match c.unread() {
                0 => {}
                // Servers stop counting there.
                999.. => spans.push(Span::raw(" (999+)").bold()),
                n => spans.push(Span::raw(format!(" ({n})")).bold()),
            }
            if let Place::Direct { peer } = &c.place
                && chat.online.contains(peer)
            {
                spans.push(Span::raw(" ●").green());
            }
            let style = if open {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            ListItem::new(Line::from(spans)).style(style)
        })
        .collect();
    let state = if chat.connected { "" } else { " (offline)" };
    let block = Block::bordered().title(format!(" koi · {}{state} ", chat.me));
    frame.render_widget(List::new(items).block(block), area);
}

fn draw_messages(frame: &mut Frame, chat: &mut Chat, area: Rect) {
    let title = chat.open_conv().map_or_else(
        || " no conversation open ".to_owned(),
        |c| {
            let typing = chat.typing_in(&c.conv, now_ms());
            let doing = match (typing.as_slice(), &c.place) {
                ([], Place::Direct { peer }) if chat.online.contains(peer) => {
                    " · online".to_owned()
                }
                ([], _) => String::new(),
                ([_], Place::Direct { .. }) => " · typing…".to_owned(),
                ([one], _) => format!(" · {one} is typing…"),
                (several, _) => format!(" · {} are typing…", several.join(", ")),
            };
            format!(" {}{doing} ", c.title())
        },
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (width, height) = (usize::from(inner.width.max(1)), usize::from(inner.height));
    chat.page = height;
    if !chat.panel.is_empty() {
        let lines: Vec<Line> = chat.panel.iter().map(|l| Line::raw(l.as_str())).collect();
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    }
    let Some(conv) = chat.open_conv() else {
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    for entry in entries(conv, &chat.me, chat.clock) {
        let style = match entry.mark {
            Mark::None => Style::new(),
            Mark::Failed => Style::new().red(),
            _ => Style::new().cyan(),
        };
        for row in wrap(&entry.line(), width) {
            lines.push(Line::styled(row, style));
        }
    }
    // Scrolled from the bottom, at most to the first line.
    let most = lines.len().saturating_sub(height);
    chat.scroll = chat.scroll.min(most);
    chat.at_top = chat.scroll == most;
    let end = lines.len() - chat.scroll;
    let start = end.saturating_sub(height);
    let shown: Vec<Line> = lines.drain(start..end).collect();
    // The newest line sits at the bottom.
    let top = height.saturating_sub(shown.len()) as u16;
    let area = Rect {
        y: inner.y + top,
        height: inner.height - top,
        ..inner
    };
    frame.render_widget(Paragraph::new(shown), area);
}

fn draw_prompt(frame: &mut Frame, chat: &Chat, area: Rect) {
    let prompt = chat.prompt();
    let typed = chat.editor.text();
    let before: String = typed.chars().take(chat.editor.cursor()).collect();
    let prompt_width = Line::raw(prompt.as_str()).width();
    let cursor = prompt_width + Line::raw(before.as_str()).width();
    // Keep the cursor on screen: long lines scroll left.
    let width = usize::from(area.width.max(1));
    let skip = (cursor + 1).saturating_sub(width);
    let line = format!("{prompt}{typed}");
    let shown: String = skip_columns(&line, skip);
    frame.render_widget(Paragraph::new(shown).bold(), area);
    frame.set_cursor_position((area.x + (cursor - skip) as u16, area.y));
}

/// `text` without its first `columns` characters.
fn skip_columns(text: &str, columns: usize) -> String {
    text.chars().skip(columns).collect()
}

/// Splits `text` into rows of at most `width` characters, at its newlines too.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            rows.push(String::new());
        }
        for chunk in chars.chunks(width) {
            rows.push(chunk.iter().collect());
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_and_newlines_break() {
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap("ab\n\ncd", 4), ["ab", "", "cd"]);
    }
}
