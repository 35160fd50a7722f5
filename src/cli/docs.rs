//! Shell completions and man pages, generated from the clap definitions:
//! `argon generate-docs .` rewrites `completions/` and `man/` (a test checks
//! that the checked-in files are current).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::core::{Error, Result};

use super::{Cli, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Folder that receives completions/ and man/
    dir: PathBuf,
}

/// Bash: complete branch names for the verbs that take one, else clap's completion.
const BASH_BRANCHES: &str = r#"
_argon_with_branches() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    case "${COMP_WORDS[1]}" in
        checkout|branch|log|reset)
            if [[ "$cur" != -* && $COMP_CWORD -ge 2 ]]; then
                # Names are data: never through compgen -W, which expands
                # $(...) in them; offered shell-quoted, as typed.
                local name
                COMPREPLY=()
                while IFS= read -r name; do
                    [[ "$name" == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
                done < <(argon __branches 2>/dev/null)
                return 0
            fi
            ;;
    esac
    _argon "$@"
}
complete -F _argon_with_branches -o bashdefault -o default argon
"#;

const FISH_BRANCHES: &str = r#"
complete -c argon -n '__fish_seen_subcommand_from checkout branch log reset' -f -a '(argon __branches 2>/dev/null)'
"#;

const ZSH_BRANCHES: &str = r#"
_argon_branches() {
    local -a branches
    branches=(${(f)"$(argon __branches 2>/dev/null)"})
    compadd -a branches
}
"#;

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(Error::io(format!("writing {}", path.display())))
}

pub fn generate(dir: &Path) -> Result<Vec<PathBuf>> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).map_err(Error::io(format!("creating {}", d.display())))?;
    }
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "argon", &mut buf);
        let mut text = String::from_utf8_lossy(&buf).into_owned();
        match shell {
            Shell::Bash => {
                // Our wrapper registers instead of clap's own `complete` line.
                text = text
                    .lines()
                    .filter(|l| !l.starts_with("complete -F _argon"))
                    .collect::<Vec<_>>()
                    .join("\n");
                text.push_str(BASH_BRANCHES);
            }
            Shell::Fish => text.push_str(FISH_BRANCHES),
            Shell::Zsh => {
                for arg in [":name -- ", ":rev -- ", ":names -- "] {
                    text = text
                        .lines()
                        .map(|l| {
                            if l.contains(arg) {
                                l.replace(":_default'", ":_argon_branches'")
                            } else {
                                l.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                text = text.replacen("\n_argon() {", &format!("{ZSH_BRANCHES}\n_argon() {{"), 1);
                text.push('\n');
            }
            _ => {}
        }
        let file = completions.join(match shell {
            Shell::Bash => "argon.bash",
            Shell::Zsh => "_argon",
            Shell::Fish => "argon.fish",
            _ => "_argon.ps1",
        });
        write(&file, text.as_bytes())?;
        written.push(file);
    }
    let top = Cli::command();
    let mut pages = vec![("argon".to_string(), top.clone())];
    for sub in top.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("argon-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, cmd) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .map_err(Error::io(format!("rendering the man page {name}")))?;
        let file = man.join(format!("{name}.1"));
        write(&file, &buf)?;
        written.push(file);
    }
    Ok(written)
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let written = generate(&args.dir)?;
    ctx.out.emit(&written, || {
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
