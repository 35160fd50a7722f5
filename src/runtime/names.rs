//! What argon calls the objects it makes on an engine host, and the labels it
//! finds them by again: one place, so core speaks of branches and the host
//! of containers, volumes and networks.

use std::collections::HashMap;

use super::{LABEL_BRANCH, LABEL_PROJECT, LABEL_ROLE};

/// What an object argon made is for (its `dev.argon.role` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A branch's data (a volume).
    Data,
    /// A branch's engine, serving HEAD or privately.
    Engine,
    /// A helper copying data between volumes.
    Copy,
    /// A private engine a version is restored into.
    Restore,
    /// A private engine or helper a version is captured from.
    Capture,
    /// A helper measuring volumes on disk.
    Measure,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Data => "data",
            Role::Engine => "engine",
            Role::Copy => "copy",
            Role::Restore => "restore",
            Role::Capture => "capture",
            Role::Measure => "measure",
        }
    }

    /// The role a label names; `None` for one this argon does not know.
    pub fn parse(label: &str) -> Option<Role> {
        [
            Role::Data,
            Role::Engine,
            Role::Copy,
            Role::Restore,
            Role::Capture,
            Role::Measure,
        ]
        .into_iter()
        .find(|r| r.as_str() == label)
    }
}

/// The names of one project's objects on its engine host.
#[derive(Debug, Clone, Copy)]
pub struct ObjectNames<'a> {
    /// The project's key (name and a hash of its folder): unique per machine.
    project: &'a str,
}

impl<'a> ObjectNames<'a> {
    pub fn new(project: &'a str) -> ObjectNames<'a> {
        ObjectNames { project }
    }

    /// The container of the branch with `uid` (HEAD's or a private engine on its data).
    pub fn engine(&self, uid: &str) -> String {
        format!("argon-{}-{uid}", self.project)
    }

    /// The volume holding the data of the branch with `uid`.
    pub fn data(&self, uid: &str) -> String {
        format!("argon-{}-{uid}", self.project)
    }

    /// The uid of the branch whose data volume is `volume`, if it is one of this project's.
    pub fn uid_of_data<'v>(&self, volume: &'v str) -> Option<&'v str> {
        volume
            .strip_prefix("argon-")?
            .strip_prefix(self.project)?
            .strip_prefix('-')
    }

    /// The project's own bridge network.
    pub fn network(&self) -> String {
        format!("argon-{}", self.project)
    }

    /// The private engine a capture reads from (one at a time per project).
    pub fn capture(&self) -> String {
        format!("argon-{}-capture", self.project)
    }

    /// The helper that copies data between volumes.
    pub fn copier(&self) -> String {
        format!("argon-{}-copy", self.project)
    }

    /// The helper measuring the project's volumes for this process (two
    /// processes may measure at once: the dashboard and `argon branch`).
    pub fn measurer(&self) -> String {
        format!("argon-{}-measure-{}", self.project, std::process::id())
    }

    /// The labels of an object made for `branch` in `role`.
    pub fn labels(&self, branch: &str, role: Role) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_PROJECT.to_string(), self.project.to_string()),
            (LABEL_BRANCH.to_string(), branch.to_string()),
            (LABEL_ROLE.to_string(), role.as_str().to_string()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_volume_gives_back_its_branch_uid_only_for_its_own_project() {
        let names = ObjectNames::new("shop-1a2b3c4d");
        let volume = names.data("u123");
        assert_eq!(names.uid_of_data(&volume), Some("u123"));
        let other = ObjectNames::new("shop-ffffffff");
        assert_eq!(other.uid_of_data(&volume), None);
        assert_eq!(names.uid_of_data(&names.network()), None);
    }

    #[test]
    fn roles_survive_their_labels() {
        for role in [
            Role::Data,
            Role::Engine,
            Role::Copy,
            Role::Restore,
            Role::Capture,
            Role::Measure,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("other"), None);
    }
}
