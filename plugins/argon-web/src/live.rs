//! Live progress of the action under way, as server-sent events: what the
//! operation reports (argon's `progress::Events`: steps, their counts,
//! notices) goes to every page following it, as JSON, and a page that
//! subscribes after the action began first gets what it missed. The stream
//! ends with `{"event":"action-finished"}`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon::progress::{Events, Progress};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

const FINISHED: &str = r#"{"event":"action-finished"}"#;
/// A page following no action gives up after this long (its action was
/// refused before it began, say), so a stopping server is not kept waiting.
const IDLE: Duration = Duration::from_secs(30);

pub struct Live {
    state: Mutex<Seen>,
    sender: broadcast::Sender<String>,
}

/// The reports of the current (or last) action.
struct Seen {
    events: Vec<String>,
    running: bool,
}

impl Live {
    pub fn new() -> Live {
        Live {
            state: Mutex::new(Seen {
                events: Vec::new(),
                running: false,
            }),
            sender: broadcast::channel(1024).0,
        }
    }

    /// The progress to hand the action that begins now: its reports reach
    /// the pages until it (and every task it started) is dropped.
    pub fn begin(self: &Arc<Live>) -> Arc<dyn Progress> {
        if let Ok(mut seen) = self.state.lock() {
            seen.events.clear();
            seen.running = true;
        }
        let (events, mut reports) = Events::channel();
        let live = self.clone();
        // The action runs on a runtime of its own (see `pages::on_thread`):
        // a thread forwards its reports whatever runtime it is on.
        std::thread::spawn(move || {
            while let Some(report) = reports.blocking_recv() {
                if let Ok(json) = serde_json::to_string(&report) {
                    live.publish(json);
                }
            }
            live.publish(FINISHED.to_string());
            if let Ok(mut seen) = live.state.lock() {
                seen.running = false;
            }
        });
        Arc::new(events)
    }

    fn publish(&self, json: String) {
        if let Ok(mut seen) = self.state.lock() {
            seen.events.push(json.clone());
        }
        let _ = self.sender.send(json);
    }

    /// What a page that subscribes now receives: the running action's
    /// reports so far, then the rest as they come, until it finishes.
    pub fn follow(self: &Arc<Live>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
        let receiver = self.sender.subscribe();
        let missed = match self.state.lock() {
            Ok(seen) if seen.running => seen.events.clone(),
            _ => Vec::new(),
        };
        let live = self.clone();
        let stream = futures_util::stream::unfold(
            (missed.into_iter(), receiver, false),
            move |(mut missed, mut receiver, done)| {
                let live = live.clone();
                async move {
                    if done {
                        return None;
                    }
                    let json = match missed.next() {
                        Some(json) => json,
                        None => live.next(&mut receiver).await,
                    };
                    let done = json == FINISHED;
                    let event = SseEvent::default().data(json);
                    Some((Ok(event), (missed, receiver, done)))
                }
            },
        );
        Sse::new(stream).keep_alive(KeepAlive::default())
    }

    /// The next report, or the end: quiet for `IDLE` with no action running.
    async fn next(&self, receiver: &mut broadcast::Receiver<String>) -> String {
        loop {
            match tokio::time::timeout(IDLE, receiver.recv()).await {
                Ok(Ok(json)) => return json,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return FINISHED.to_string(),
                Err(_) if self.state.lock().is_ok_and(|s| s.running) => continue,
                Err(_) => return FINISHED.to_string(),
            }
        }
    }
}
