//! `argon uri` and `argon env`: HEAD's connection string.

use serde::Serialize;

use crate::core::Result;

use super::Ctx;

#[derive(Serialize)]
struct Uri {
    uri: String,
}

pub async fn run_uri(ctx: &Ctx) -> Result<()> {
    let project = ctx.open(false).await?;
    let uri = project.uri();
    ctx.out.emit(&Uri { uri: uri.clone() }, || uri);
    Ok(())
}

#[derive(Serialize)]
struct Env {
    #[serde(rename = "MONGODB_URI")]
    mongodb_uri: String,
}

pub async fn run_env(ctx: &Ctx) -> Result<()> {
    let project = ctx.open(false).await?;
    let uri = project.uri();
    ctx.out.emit(
        &Env {
            mongodb_uri: uri.clone(),
        },
        || format!("MONGODB_URI={uri}"),
    );
    Ok(())
}
