//! What an operation reports while it runs, and nothing about how it is
//! shown: the front end injects a `Progress`. The CLI draws indicatif bars
//! (`cli::progress`); `Events` turns the same reports into a stream a web
//! page can follow; `Silent` drops them.

use std::sync::Arc;

/// Where an operation's progress goes.
pub trait Progress: Send + Sync {
    /// A step begins (saving a branch, restoring a version, pulling an image).
    fn task(&self, label: &str) -> Task;
    /// Something the user should know that did not stop the operation.
    fn notice(&self, text: &str);
}

/// One running step. Cheap to clone: parallel workers count into the same task.
#[derive(Clone)]
pub struct Task(Arc<dyn TaskSink>);

/// How a front end receives a task's counts.
pub trait TaskSink: Send + Sync {
    /// The amount of work (documents) the step will do, once known.
    fn set_total(&self, total: u64);
    fn advance(&self, done: u64);
    fn set_message(&self, message: &str);
    fn finish(&self);
}

impl Task {
    pub fn new(sink: Arc<dyn TaskSink>) -> Task {
        Task(sink)
    }

    /// A task nobody watches.
    pub fn hidden() -> Task {
        Task(Arc::new(NoSink))
    }

    pub fn set_total(&self, total: u64) {
        self.0.set_total(total)
    }

    pub fn advance(&self, done: u64) {
        self.0.advance(done)
    }

    pub fn set_message(&self, message: &str) {
        self.0.set_message(message)
    }

    pub fn finish(&self) {
        self.0.finish()
    }
}

struct NoSink;

impl TaskSink for NoSink {
    fn set_total(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn set_message(&self, _: &str) {}
    fn finish(&self) {}
}

/// Reports go nowhere (a repair after Ctrl-C, a test).
pub struct Silent;

impl Progress for Silent {
    fn task(&self, _label: &str) -> Task {
        Task::hidden()
    }
    fn notice(&self, _text: &str) {}
}

/// One report, as a front end that streams them receives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    TaskStarted { task: u64, label: String },
    TaskTotal { task: u64, total: u64 },
    TaskAdvanced { task: u64, done: u64 },
    TaskMessage { task: u64, message: String },
    TaskFinished { task: u64 },
    Notice { text: String },
}

/// Reports as a stream of `Event`s (server-sent events, a log).
pub struct Events {
    sender: tokio::sync::mpsc::UnboundedSender<Event>,
    next_task: std::sync::atomic::AtomicU64,
}

impl Events {
    /// The progress to hand an operation, and the stream its reports arrive on.
    pub fn channel() -> (Events, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let events = Events {
            sender,
            next_task: std::sync::atomic::AtomicU64::new(1),
        };
        (events, receiver)
    }
}

struct EventTask {
    task: u64,
    sender: tokio::sync::mpsc::UnboundedSender<Event>,
    done: std::sync::atomic::AtomicU64,
}

impl TaskSink for EventTask {
    fn set_total(&self, total: u64) {
        let _ = self.sender.send(Event::TaskTotal {
            task: self.task,
            total,
        });
    }
    fn advance(&self, done: u64) {
        let now = self
            .done
            .fetch_add(done, std::sync::atomic::Ordering::Relaxed)
            + done;
        let _ = self.sender.send(Event::TaskAdvanced {
            task: self.task,
            done: now,
        });
    }
    fn set_message(&self, message: &str) {
        let _ = self.sender.send(Event::TaskMessage {
            task: self.task,
            message: message.to_string(),
        });
    }
    fn finish(&self) {
        let _ = self.sender.send(Event::TaskFinished { task: self.task });
    }
}

impl Progress for Events {
    fn task(&self, label: &str) -> Task {
        let task = self
            .next_task
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A receiver that went away (a closed page) is no reason to fail the operation.
        let _ = self.sender.send(Event::TaskStarted {
            task,
            label: label.to_string(),
        });
        Task::new(Arc::new(EventTask {
            task,
            sender: self.sender.clone(),
            done: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    fn notice(&self, text: &str) {
        let _ = self.sender.send(Event::Notice {
            text: text.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_what_the_operation_reported_in_order() {
        let (events, mut stream) = Events::channel();
        let task = events.task("saving main");
        task.set_total(10);
        let worker = task.clone();
        worker.advance(4);
        task.advance(6);
        task.finish();
        events.notice("kept its last version");
        drop(events);
        drop((task, worker));
        let mut got = Vec::new();
        while let Ok(e) = stream.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                Event::TaskStarted {
                    task: 1,
                    label: "saving main".into()
                },
                Event::TaskTotal { task: 1, total: 10 },
                Event::TaskAdvanced { task: 1, done: 4 },
                Event::TaskAdvanced { task: 1, done: 10 },
                Event::TaskFinished { task: 1 },
                Event::Notice {
                    text: "kept its last version".into()
                },
            ]
        );
    }
}
