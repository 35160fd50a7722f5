//! Validated names: a `BranchName` can only hold a name git would accept as a ref.

use std::fmt;

/// A branch name that follows git's ref-name rules (`git check-ref-format --branch`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct BranchName(String);

impl BranchName {
    /// Checks `name` against git's ref rules and returns why it is rejected.
    pub fn parse(name: &str) -> Result<Self, String> {
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name == "HEAD" || name == "@" {
            Some("it is reserved")
        } else if name.starts_with('-') {
            Some("it starts with '-'")
        } else if name.starts_with('/') || name.ends_with('/') {
            Some("it starts or ends with '/'")
        } else if name.contains("//") {
            Some("it contains '//'")
        } else if name.ends_with('.') {
            Some("it ends with '.'")
        } else if name.contains("..") {
            Some("it contains '..'")
        } else if name.contains("@{") {
            Some("it contains '@{'")
        } else if name
            .split('/')
            .any(|part| part.starts_with('.') || part.ends_with(".lock"))
        {
            Some("a component starts with '.' or ends with '.lock'")
        } else if name
            .chars()
            .any(|c| c.is_control() || c == ' ' || "~^:?*[\\\x7f".contains(c))
        {
            Some("it contains a space, a control character or one of ~ ^ : ? * [ \\")
        } else {
            None
        };
        match reason {
            Some(why) => Err(format!("'{name}' is not a valid branch name: {why}")),
            None => Ok(BranchName(name.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project name, usable in Docker object names and store paths.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if ok {
            Ok(ProjectName(name.to_string()))
        } else {
            Err(format!(
                "'{name}' is not a valid project name: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
            ))
        }
    }

    /// A valid name derived from a folder name (invalid characters become '-').
    pub fn from_folder(folder: &str) -> Self {
        let mut s: String = folder
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        s = s
            .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        s.truncate(64);
        if s.is_empty() {
            s = "project".to_string();
        }
        ProjectName(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Does namespace `ns` (`db.collection`) fall under one of `patterns`, each
/// a database (`db`) or one collection (`db.collection`)?
pub fn namespace_matches(patterns: &[String], ns: &str) -> bool {
    patterns.iter().any(|p| {
        ns == p
            || ns
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Does a command limited to `only` (every namespace when empty) and
/// leaving out `exclude` take namespace `ns`?
pub fn namespace_kept(only: &[String], exclude: &[String], ns: &str) -> bool {
    (only.is_empty() || namespace_matches(only, ns)) && !namespace_matches(exclude, ns)
}

/// The first pattern of `only` that none of `namespaces` falls under: a
/// namespace the user named that is not there.
pub fn unmatched_pattern<'p>(only: &'p [String], namespaces: &[String]) -> Option<&'p String> {
    only.iter().find(|o| {
        !namespaces
            .iter()
            .any(|ns| namespace_matches(std::slice::from_ref(*o), ns))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_select_a_database_or_one_collection() {
        let only = vec!["app".to_string(), "other.c".to_string()];
        assert!(namespace_kept(&only, &[], "app.users"));
        assert!(namespace_kept(&only, &[], "other.c"));
        assert!(!namespace_kept(&only, &[], "other.cc"));
        assert!(!namespace_kept(&only, &[], "apple.x"));
        assert!(namespace_kept(&[], &[], "any.thing"));
        assert!(!namespace_kept(&[], &only, "app.users"), "excluded");
        let there = ["app.users".to_string()];
        assert_eq!(unmatched_pattern(&only, &there), Some(&only[1]));
    }

    #[test]
    fn accepts_what_git_accepts() {
        for ok in ["main", "feature/login", "fix-1.2", "a_b", "user@host", "v1"] {
            assert!(BranchName::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_what_git_rejects() {
        for bad in [
            "", "HEAD", "-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a",
            "a/", "a//b", ".a", "a/.b", "a.lock", "a.", "a@{1}", "@", "a\tb",
        ] {
            assert!(BranchName::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn project_names() {
        assert!(ProjectName::parse("shop").is_ok());
        assert!(ProjectName::parse("-shop").is_err());
        assert!(ProjectName::parse("sh op").is_err());
        assert_eq!(ProjectName::from_folder("My App!").as_str(), "my-app-");
        assert_eq!(ProjectName::from_folder("...").as_str(), "project");
    }
}
