//! Where long output goes: through a pager when stdout is a terminal (as
//! git does: `ARGON_PAGER`, else `PAGER`, else `less -FRX`, which exits at
//! once when everything fits the screen), else straight to stdout; and
//! whether it is coloured (`--color`, `NO_COLOR`).

use std::io::{IsTerminal, Write};
use std::process::{Child, Command, Stdio};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    pub fn enabled(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Text output, paged or not. Writes fail once the reader has gone (the
/// pager quit): the producer stops then, and that is not an error.
pub struct Output {
    pager: Option<Child>,
    out: Box<dyn Write + Send>,
}

impl Output {
    /// A pager when `allowed` and stdout is a terminal, else stdout.
    pub fn start(allowed: bool) -> Output {
        if allowed && std::io::stdout().is_terminal() {
            if let Some(output) = Output::spawn_pager() {
                return output;
            }
        }
        Output {
            pager: None,
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
        }
    }

    fn spawn_pager() -> Option<Output> {
        let command = std::env::var("ARGON_PAGER")
            .or_else(|_| std::env::var("PAGER"))
            .unwrap_or_else(|_| "less -FRX".into());
        let command = command.trim();
        if command.is_empty() || command == "cat" {
            return None;
        }
        let mut child = Command::new("sh")
            .args(["-c", command])
            .env(
                "LESS",
                std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
            )
            .stdin(Stdio::piped())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        Some(Output {
            pager: Some(child),
            out: Box::new(std::io::BufWriter::new(stdin)),
        })
    }

    pub fn line(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Flushes, closes the pager's input and waits until the user quits it.
    pub fn finish(mut self) {
        let _ = self.out.flush();
        drop(self.out);
        if let Some(mut pager) = self.pager.take() {
            let _ = pager.wait();
        }
    }
}

/// ANSI colours, or none.
#[derive(Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        match self.0 {
            true => format!("\x1b[{code}m{text}\x1b[0m"),
            false => text.to_string(),
        }
    }
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }
    pub fn cyan(self, text: &str) -> String {
        self.wrap("36", text)
    }
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
}
