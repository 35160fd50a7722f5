//! `argon mount`: serves the project's store as files. Versions and tags come
//! from the store itself, so what other machines save appears too.

use super::{Project, Result};
use crate::mount::{self, MountOptions, Mounted};

impl Project {
    pub async fn mount(
        &mut self,
        opts: &MountOptions,
        on_ready: impl FnOnce(&Mounted),
    ) -> Result<()> {
        let store = self.store().await?;
        mount::serve(store, opts, on_ready).await?;
        Ok(())
    }
}
