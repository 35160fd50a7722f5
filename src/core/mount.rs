//! `argon mount`: serves the project's store as files. Versions come from the
//! store itself (so other machines' saves appear too); tags from the metadata.

use super::{Project, Result};
use crate::meta::Meta;
use crate::mount::{self, MountOptions, Mounted, TagSource};

impl Project {
    pub async fn mount(
        &mut self,
        opts: &MountOptions,
        on_ready: impl FnOnce(&Mounted),
    ) -> Result<()> {
        let store = self.store().await?;
        let db_path = self.state_dir.join("argon.db");
        let project = self.row.id;
        // Read afresh at each refresh: tags change while the mount runs.
        let tags: TagSource = Box::new(move || {
            let meta = Meta::open(&db_path).map_err(|e| e.to_string())?;
            meta.tags(project).map_err(|e| e.to_string())
        });
        mount::serve(store, tags, opts, on_ready).await?;
        Ok(())
    }
}
