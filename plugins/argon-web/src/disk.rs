//! Branch sizes on disk for the branch view. Measuring them runs a helper
//! container over every volume (about a second), so the page never waits
//! for it: it shows what was measured last, a measurement starts in the
//! background once that is older than a minute, and an open page that shows
//! none yet fetches them from `/disk` and fills them in (a reload would lose
//! what is being typed).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a measurement stands before the next view starts another.
const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Measured {
    sizes: HashMap<String, u64>,
    at: Option<Instant>,
    measuring: bool,
}

impl Measured {
    /// The sizes, once a measurement has finished (one that failed leaves
    /// none known: shown as unknown, tried again after FRESH_FOR).
    fn known(&self) -> Option<HashMap<String, u64>> {
        self.at.map(|_| self.sizes.clone())
    }
}

pub struct DiskSizes {
    project: PathBuf,
    measured: Mutex<Measured>,
}

impl DiskSizes {
    pub fn new(project: PathBuf) -> Arc<DiskSizes> {
        Arc::new(DiskSizes {
            project,
            measured: Mutex::new(Measured::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Measured> {
        self.measured.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sizes measured last (`None` until a measurement has finished);
    /// starts a measurement in the background when they are stale.
    pub fn get(self: &Arc<Self>) -> Option<HashMap<String, u64>> {
        let mut m = self.lock();
        let stale = m.at.is_none_or(|at| at.elapsed() >= FRESH_FOR);
        if stale && !m.measuring {
            m.measuring = true;
            let this = self.clone();
            // A thread of its own: argon's Project is not Send.
            std::thread::spawn(move || this.measure());
        }
        m.known()
    }

    /// The sizes measured last, without starting a measurement.
    pub fn known(&self) -> Option<HashMap<String, u64>> {
        self.lock().known()
    }

    fn measure(&self) {
        let sizes = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(async {
                    let mut project = crate::pages::open(&self.project)
                        .await
                        .map_err(|e| e.to_string())?;
                    project.disk_usage().await.map_err(|e| e.to_string())
                })
            });
        let mut m = self.lock();
        m.measuring = false;
        m.at = Some(Instant::now());
        match sizes {
            Ok(sizes) => m.sizes = sizes,
            // Shown as unknown; tried again after FRESH_FOR.
            Err(e) => eprintln!("argon web: could not measure the branches on disk: {e}"),
        }
    }
}
