//! Engine logins: whether argon's login works on an engine, and the one
//! command that gives a fresh `--auth` engine its first user.

use mongodb::bson::doc;
use mongodb::error::ErrorKind;

use super::{close, connect, engine, Result};
use crate::credentials::Login;
use crate::endpoint::Endpoint;

/// MongoDB's AuthenticationFailed.
const AUTHENTICATION_FAILED: i32 = 18;

/// Does the engine at `endpoint` accept `login`? Ok(false) when it refuses it
/// (no such user yet); other failures are errors.
pub async fn accepts(endpoint: &Endpoint, login: &Login) -> Result<bool> {
    let client = connect(endpoint, Some(login)).await?;
    let reply = client
        .database("admin")
        .run_command(doc! { "listDatabases": 1, "nameOnly": true })
        .await;
    close(client).await;
    match reply {
        Ok(_) => Ok(true),
        Err(e) if is_refused(&e) => Ok(false),
        Err(e) => Err(engine("logging in to", endpoint.to_string())(e)),
    }
}

fn is_refused(e: &mongodb::error::Error) -> bool {
    match &*e.kind {
        ErrorKind::Authentication { .. } => true,
        ErrorKind::Command(c) => c.code == AUTHENTICATION_FAILED,
        _ => e.to_string().contains("AuthenticationFailed"),
    }
}

/// Creates `login` as a root user on the engine on 127.0.0.1:`port`, which
/// must have no user yet: the localhost exception lets exactly that through.
/// Runs inside the engine's network namespace (see `runtime::create_first_user`).
pub async fn create_first_user(port: u16, login: &Login) -> Result<()> {
    let client = connect(&Endpoint::local(port), None).await?;
    let reply = client
        .database("admin")
        .run_command(doc! {
            "createUser": &login.user,
            "pwd": login.password(),
            "roles": [{ "role": "root", "db": "admin" }],
        })
        .await;
    close(client).await;
    reply.map(|_| ()).map_err(engine(
        "creating argon's user on",
        format!("127.0.0.1:{port}"),
    ))
}
