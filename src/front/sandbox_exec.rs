/*!
`agent sandbox-exec`: the helper that confines one command where bubblewrap cannot. It restricts
itself with Landlock (read everywhere but the hidden paths, write only in the given directories)
and, unless the network is allowed, a seccomp filter that refuses IP sockets, then replaces itself
with the command. Run by `run_command`, never by people (hidden
from `--help`). Both restrictions hold for the calling thread and everything it executes, so this
runs before any other thread exists.
*/

use std::process::ExitCode;

use crate::cli::SandboxExecArgs;

pub fn sandbox_exec(args: SandboxExecArgs) -> ExitCode {
    #[cfg(target_os = "linux")]
    return linux::sandbox_exec(args);
    #[cfg(not(target_os = "linux"))]
    {
        // The sandbox never chooses this helper where Landlock does not exist.
        let _ = args;
        eprintln!("agent sandbox-exec: Landlock and seccomp exist on Linux only");
        ExitCode::from(126)
    }
}

/// Landlock and seccomp: Linux only.
#[cfg(target_os = "linux")]
mod linux {
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use anyhow::{Context, Result, bail};
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        path_beneath_rules,
    };

    use crate::cli::SandboxExecArgs;

    /// The newest Landlock ABI we ask for; older kernels get what they support.
    const ABI_WANTED: ABI = ABI::V5;
    /// Devices any command may write to.
    const WRITABLE_DEVICES: [&str; 5] = [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/tty",
        "/dev/urandom",
    ];

    pub fn sandbox_exec(args: SandboxExecArgs) -> ExitCode {
        match confine_and_exec(&args) {
            // exec only returns on failure.
            Ok(()) => ExitCode::from(126),
            Err(error) => {
                eprintln!("agent sandbox-exec: {error:#}");
                ExitCode::from(126)
            }
        }
    }

    fn confine_and_exec(args: &SandboxExecArgs) -> Result<()> {
        let Some((program, rest)) = args.command.split_first() else {
            bail!("no command given after --");
        };
        restrict_files(args)?;
        if !args.network {
            refuse_ip_sockets()?;
        }
        let error = std::process::Command::new(program).args(rest).exec();
        Err(error).with_context(|| format!("cannot run {program}"))
    }

    fn restrict_files(args: &SandboxExecArgs) -> Result<()> {
        let read = AccessFs::from_read(ABI_WANTED);
        let all = AccessFs::from_all(ABI_WANTED);
        let readable = allowed_except(Path::new("/"), &args.hide);
        // A writable directory is writable whole: Landlock cannot take `.git/hooks` out of it
        // without taking away the right to create files in the directory itself.
        let mut writable: Vec<PathBuf> = args.write.clone();
        writable.extend(WRITABLE_DEVICES.iter().map(PathBuf::from));
        let status = Ruleset::default()
            .handle_access(all)?
            .create()?
            .add_rules(path_beneath_rules(&readable, read))?
            .add_rules(path_beneath_rules(&writable, all))?
            .restrict_self()
            .context("cannot apply the Landlock rules")?;
        match status.ruleset {
            RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
            RulesetStatus::NotEnforced => bail!("this kernel does not enforce Landlock"),
        }
    }

    /// Paths whose subtrees together hold everything under `base` except `excluded`: `base` itself
    /// when nothing excluded is inside it, else its children, recursively. (Landlock only allows, so
    /// a hole is made by allowing everything around it.)
    fn allowed_except(base: &Path, excluded: &[PathBuf]) -> Vec<PathBuf> {
        if excluded.iter().any(|hole| hole == base) {
            return Vec::new();
        }
        if !excluded.iter().any(|hole| hole.starts_with(base)) {
            return vec![base.to_path_buf()];
        }
        let Ok(entries) = std::fs::read_dir(base) else {
            return Vec::new();
        };
        entries
            .flatten()
            .flat_map(|entry| allowed_except(&entry.path(), excluded))
            .collect()
    }

    fn refuse_ip_sockets() -> Result<()> {
        use seccompiler::{
            BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
            SeccompFilter, SeccompRule,
        };
        let domain_is = |family: i32| -> Result<SeccompRule> {
            let condition = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::try_from(family)?,
            )?;
            Ok(SeccompRule::new(vec![condition])?)
        };
        let rules = vec![(
            libc::SYS_socket,
            vec![domain_is(libc::AF_INET)?, domain_is(libc::AF_INET6)?],
        )];
        let filter = SeccompFilter::new(
            rules.into_iter().collect(),
            SeccompAction::Allow,
            SeccompAction::Errno(u32::try_from(libc::EACCES)?),
            std::env::consts::ARCH.try_into()?,
        )?;
        let program: BpfProgram = filter.try_into()?;
        seccompiler::apply_filter(&program).context("cannot apply the seccomp filter")?;
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_hole_is_made_by_allowing_its_surroundings() {
            let dir = tempfile::tempdir().unwrap();
            let home = dir.path().join("home");
            for sub in ["ssh", "code", "docs"] {
                std::fs::create_dir_all(home.join(sub)).unwrap();
            }
            std::fs::create_dir_all(dir.path().join("etc")).unwrap();
            let mut allowed = allowed_except(dir.path(), &[home.join("ssh")]);
            allowed.sort();
            assert_eq!(
                allowed,
                [dir.path().join("etc"), home.join("code"), home.join("docs")]
            );
            assert_eq!(
                allowed_except(&home, std::slice::from_ref(&home)),
                Vec::<PathBuf>::new()
            );
        }
    }
}
