//! The CLI's progress: indicatif bars on stderr when it is a terminal and the
//! output is for humans; notices as `warning:` lines.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Progress, Task, TaskSink};

pub struct Terminal {
    /// Draw bars (stderr is a terminal, the output is for humans).
    pub bars: bool,
}

struct Bar(ProgressBar);

impl TaskSink for Bar {
    fn set_total(&self, total: u64) {
        // A total turns the spinner into a bar.
        self.0.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} documents ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        self.0.set_length(total);
    }
    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Terminal {
    fn task(&self, label: &str) -> Task {
        if !self.bars {
            return Task::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::default_spinner());
        bar.set_message(label.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Task::new(Arc::new(Bar(bar)))
    }

    fn notice(&self, text: &str) {
        errln!("warning: {text}");
    }
}
