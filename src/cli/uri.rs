//! `argon uri` and `argon env`: HEAD's connection string; and the engine-side
//! half of giving an engine argon's login.

use serde::Serialize;

use crate::core::Result;

use super::Ctx;

#[derive(Serialize)]
struct Uri {
    uri: String,
}

pub async fn run_uri(ctx: &Ctx) -> Result<()> {
    let mut project = ctx.open(false).await?;
    // The URI is handed to an application: make sure something answers there.
    project.repair_proxy_if_down().await;
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
    let mut project = ctx.open(false).await?;
    project.repair_proxy_if_down().await;
    let uri = project.uri();
    ctx.out.emit(
        &Env {
            mongodb_uri: uri.clone(),
        },
        || format!("MONGODB_URI={uri}"),
    );
    Ok(())
}

/// `argon __engine-login`, run by argon inside an engine's network namespace:
/// creates the user its environment names on the engine at 127.0.0.1.
pub async fn engine_login() -> Result<()> {
    use crate::runtime::{LOGIN_ENV_PASSWORD, LOGIN_ENV_PORT, LOGIN_ENV_USER};
    let bad = |message: String| {
        crate::core::Error::io("reading the login to create")(std::io::Error::other(message))
    };
    let var = |name: &'static str| {
        std::env::var(name)
            .map_err(|_| bad(format!("{name} is not set: this command is argon's own")))
    };
    let port = var(LOGIN_ENV_PORT)?
        .parse()
        .map_err(|_| bad(format!("{LOGIN_ENV_PORT} is not a port number")))?;
    let login = crate::credentials::Login::new(var(LOGIN_ENV_USER)?, var(LOGIN_ENV_PASSWORD)?);
    Ok(crate::snapshot::login::create_first_user(port, &login).await?)
}
