//! The login argon gives a project's engines when `[engine] auth` is on: one
//! user per project, a random password generated once and kept 0600 under
//! ARGON_HOME (never in argon.toml, which is committed). Its `Debug` hides the
//! password, so no log or error line can carry it.

use std::io::Read;
use std::path::Path;

/// The engine user argon creates: the only user of every branch's engine.
pub const USER: &str = "argon";

#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}:***)", self.user)
    }
}

impl Login {
    /// For the engine-side bootstrap, which receives both from argon.
    pub fn new(user: String, password: String) -> Login {
        Login { user, password }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The same user with `****` for a password: what reports print.
    pub fn masked(&self) -> Login {
        Login::new(self.user.clone(), "****".into())
    }

    /// The project's login kept in `path`, generated (and written 0600) on first use.
    pub fn load_or_create(path: &Path) -> std::io::Result<Login> {
        match std::fs::read_to_string(path) {
            Ok(text) if is_password(text.trim()) => {
                return Ok(Login::new(USER.into(), text.trim().to_string()))
            }
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} is not a password argon wrote; remove it to have a new one generated",
                        path.display()
                    ),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(parent) = path.parent() {
            crate::private::create_dir_all(parent)?;
        }
        let password = random_password()?;
        crate::private::write(path, password.as_bytes())?;
        Ok(Login::new(USER.into(), password))
    }
}

/// 32 hex digits from the kernel's random source: no character a connection
/// string would need to escape.
fn random_password() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

fn is_password(text: &str) -> bool {
    text.len() >= 16 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_kept_private_and_never_shown_by_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials").join("shop-1234");
        let first = Login::load_or_create(&path).unwrap();
        let again = Login::load_or_create(&path).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.password().len(), 32);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!format!("{first:?}").contains(first.password()));
        std::fs::write(&path, "x y").unwrap();
        assert!(Login::load_or_create(&path).is_err());
    }
}
