//! `koi chat`: a full-screen terminal chat. The conversation list with unread
//! counts, the open conversation with its history, and a prompt naming where
//! a line goes.
//!
//! - [`state`]: what is shown and how keys' commands change it, [`incoming`]:
//!   how pushes and replies change it (no I/O in either), with
//!   [`conversation`], [`editor`], [`command`] (typed lines) and [`transcript`]
//!   (messages as lines);
//! - [`keys`]: keys and mouse; [`view`]: drawing; [`screen`]: the terminal;
//! - [`runner`]: the server requests the state asks for ([`effect`]).

mod clock;
mod command;
mod conversation;
mod editor;
mod effect;
mod incoming;
mod keys;
mod runner;
mod screen;
mod state;
#[cfg(test)]
mod state_tests;
mod transcript;
mod upload;
mod view;

use std::sync::Arc;

use crossterm::event::EventStream;
use futures::StreamExt;
use koi_client::Event;
use tokio::sync::mpsc;

use super::Login;
pub use clock::Clock;
use effect::Effect;
use runner::Runner;
use screen::Screen;
use state::Chat;

/// Chat in a full-screen terminal interface (keys and commands: /help).
#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    login: Login,
}

/// Runs the chat; `clock` is read before the runtime starts (see
/// [`Clock::local`]).
pub async fn run(args: ChatArgs, clock: Clock) -> anyhow::Result<()> {
    let client = Arc::new(args.login.connect().await?);
    let mut chat = Chat::new(client.user(), clock);
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel();
    let runner = Runner::new(client.clone(), clock, outcomes_tx);
    let start = |effects: Vec<Effect>| effects.into_iter().for_each(|e| runner.start(e));
    let mut screen = Screen::enter()?;
    let mut terminal_events = EventStream::new();
    let mut client_open = true;
    // Redraws now and then: "typing…" goes when its time is up.
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        if chat.redraw {
            chat.redraw = false;
            screen.terminal.clear()?;
        }
        screen.terminal.draw(|frame| view::draw(frame, &mut chat))?;
        let effects = tokio::select! {
            event = terminal_events.next() => match event {
                Some(Ok(event)) => keys::handle(&mut chat, event),
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            event = client.next_event(), if client_open => match event {
                Some(Event::Push(op)) => chat.push(op),
                Some(Event::Connected { reconnect, .. }) => chat.connected(reconnect),
                Some(Event::Disconnected { reason, reconnecting }) => {
                    chat.disconnected(&reason, reconnecting);
                    Vec::new()
                }
                None => {
                    client_open = false;
                    chat.disconnected("closed", false);
                    Vec::new()
                }
            },
            Some(outcome) = outcomes.recv() => chat.outcome(outcome),
            _ = tick.tick() => {
                chat.typing.retain(|t| t.until > state::now_ms());
                Vec::new()
            }
        };
        start(effects);
        if chat.quit {
            break Ok(());
        }
    };
    drop(screen);
    if let Some(farewell) = &chat.farewell {
        println!("{farewell}");
    }
    client.close().await;
    result
}
