/*!
Which commands are read-only, decided on the parsed command, not by prefix string.

A command line is split into simple commands at `|`, `||`, `&&` and `;`; every one of them must be
a known read-only program used in a read-only way. Anything the scanner cannot vouch for — output
redirection to a file, command substitution, process substitution, backgrounding, a here-doc,
an unterminated quote — makes the whole line not read-only, so it is asked about.
*/

/// Programs that only read, whatever their arguments (unless listed in [`writes_with`]).
const READ_ONLY_PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "rg",
    "grep",
    "egrep",
    "fgrep",
    "pwd",
    "echo",
    "printf",
    "tree",
    "file",
    "stat",
    "du",
    "df",
    "which",
    "type",
    "diff",
    "cmp",
    "sort",
    "uniq",
    "cut",
    "tr",
    "nl",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "true",
    "false",
    "date",
    "env",
    "uname",
    "whoami",
    "id",
    "less",
    "more",
    "sed",
    "find",
    "fd",
    "jq",
    "md5sum",
    "sha256sum",
    "od",
    "hexdump",
    "xxd",
    "column",
    "test",
    "[",
];

/// Arguments that make an otherwise read-only program write or run other programs.
fn writes_with(program: &str, argument: &str) -> bool {
    match program {
        "sed" => {
            argument.starts_with("-i")
                || argument == "--in-place"
                || argument.starts_with("--in-place=")
        }
        "sort" => argument.starts_with("-o") || argument.starts_with("--output"),
        "find" | "fd" => matches!(
            argument,
            "-exec"
                | "-execdir"
                | "-ok"
                | "-okdir"
                | "-delete"
                | "-fprint"
                | "-fprint0"
                | "-fprintf"
                | "-fls"
                | "-x"
                | "--exec"
                | "-X"
                | "--exec-batch"
        ),
        "env" => !argument.contains('=') && !argument.starts_with('-'),
        _ => false,
    }
}

/// `git` subcommands that only read.
const GIT_READ_ONLY: &[&str] = &[
    "status",
    "diff",
    "log",
    "show",
    "blame",
    "ls-files",
    "rev-parse",
    "grep",
    "shortlog",
    "describe",
];

/// Multi-word read-only commands (build and test runners the issue lists).
const READ_ONLY_COMMANDS: &[&[&str]] = &[
    &["cargo", "check"],
    &["cargo", "test"],
    &["cargo", "clippy"],
    &["cargo", "build"],
    &["cargo", "tree"],
    &["cargo", "metadata"],
    &["cargo", "fmt", "--check"],
    &["pytest"],
    &["python", "-m", "pytest"],
    &["python3", "-m", "pytest"],
    &["go", "test"],
    &["go", "vet"],
    &["go", "build"],
    &["npm", "test"],
    &["make", "test"],
    &["make", "check"],
];

pub fn is_read_only(command: &str) -> bool {
    match split_simple_commands(command) {
        Some(commands) => {
            !commands.is_empty() && commands.iter().all(|words| simple_is_read_only(words))
        }
        None => false,
    }
}

fn simple_is_read_only(words: &[String]) -> bool {
    let Some(program) = words.first() else {
        return false;
    };
    let program = program.rsplit('/').next().unwrap_or(program);
    if program == "git" {
        return git_is_read_only(&words[1..]);
    }
    if READ_ONLY_COMMANDS.iter().any(|prefix| {
        words.len() >= prefix.len() && prefix.iter().zip(words).all(|(want, have)| want == have)
    }) {
        return !words
            .iter()
            .any(|word| word == "--fix" || word == "--allow-dirty");
    }
    READ_ONLY_PROGRAMS.contains(&program)
        && !words[1..]
            .iter()
            .any(|argument| writes_with(program, argument))
}

fn git_is_read_only(arguments: &[String]) -> bool {
    git_subcommand_is_read_only(arguments).unwrap_or(false)
}

fn git_subcommand_is_read_only(arguments: &[String]) -> Option<bool> {
    // Global options such as `-C dir` or `--no-pager` come before the subcommand.
    let mut rest = arguments.iter();
    let subcommand = loop {
        let argument = rest.next()?;
        if matches!(
            argument.as_str(),
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace"
        ) {
            rest.next();
        } else if !argument.starts_with('-') {
            break argument;
        }
    };
    if subcommand == "branch" || subcommand == "tag" || subcommand == "remote" {
        // Listing only: any other argument could create, rename or delete.
        return Some(rest.all(|argument| {
            matches!(
                argument.as_str(),
                "-a" | "-r" | "-v" | "-vv" | "--list" | "-l" | "--all"
            )
        }));
    }
    let writes = arguments
        .iter()
        .any(|argument| argument == "--output" || argument.starts_with("--output="));
    Some(GIT_READ_ONLY.contains(&subcommand.as_str()) && !writes)
}

/// Splits a command line into simple commands (each a list of words), or None when the line has
/// anything that is not a plain word, quote, or one of `| || && ;`.
fn split_simple_commands(command: &str) -> Option<Vec<Vec<String>>> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let mut chars = command.chars().peekable();
    let mut in_double_quotes = false;
    while let Some(c) = chars.next() {
        match (in_double_quotes, c) {
            (true, '"') => {
                in_double_quotes = false;
                current.push(c);
            }
            (true, '$' | '`') => return None,
            (true, '\\') => {
                current.push(c);
                current.push(chars.next()?);
            }
            (true, _) => current.push(c),
            (false, '"') => {
                in_double_quotes = true;
                current.push(c);
            }
            (false, '\'') => {
                // Single-quoted text is literal: copy it through to the closing quote.
                current.push(c);
                loop {
                    let next = chars.next()?;
                    current.push(next);
                    if next == '\'' {
                        break;
                    }
                }
            }
            (false, '|' | ';' | '&') => {
                let doubled = chars.peek() == Some(&c);
                if c == '&' && !doubled {
                    return None;
                }
                if doubled {
                    chars.next();
                }
                commands.push(words(&current)?);
                current.clear();
            }
            (false, '>') => {
                // Only `2>&1` and redirections to /dev/null are harmless.
                let rest: String = chars.clone().collect();
                let rest = rest.trim_start();
                if current.ends_with('2') && rest.starts_with("&1") {
                    // `2>&1` merges stderr into stdout: drop it from the words.
                    current.pop();
                    chars.next();
                    chars.next();
                } else if rest.starts_with("/dev/null") {
                    current.push(c);
                } else {
                    return None;
                }
            }
            (false, '<' | '$' | '`' | '(' | ')' | '\n' | '{' | '}') => return None,
            (false, '\\') => {
                current.push(c);
                current.push(chars.next()?);
            }
            (false, _) => current.push(c),
        }
    }
    if in_double_quotes {
        return None;
    }
    commands.push(words(&current)?);
    Some(
        commands
            .into_iter()
            .filter(|words| !words.is_empty())
            .collect(),
    )
}

/// The words of one simple command, redirections to /dev/null and `2>&1` dropped.
fn words(text: &str) -> Option<Vec<String>> {
    let words = shlex::split(text)?;
    let mut kept = Vec::new();
    let mut skip_next = false;
    for word in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        if matches!(word.as_str(), ">" | "1>" | "2>" | "&>") {
            skip_next = true;
            continue;
        }
        if word.contains('>') {
            continue;
        }
        kept.push(word);
    }
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::is_read_only;

    #[test]
    fn plain_reads_are_read_only() {
        for command in [
            "ls -la",
            "cat src/main.rs",
            "rg -n 'fn main' src",
            "grep -R \"a|b\" . | head -20",
            "git status",
            "git -C sub diff --stat",
            "git log --oneline -5 && git diff HEAD~1",
            "cargo test --workspace 2>&1 | tail -50",
            "cargo check",
            "pytest -q tests/test_x.py",
            "find . -name '*.rs' | wc -l",
            "sed -n '1,20p' file.txt",
            "git branch",
            "ls > /dev/null",
        ] {
            assert!(is_read_only(command), "{command}");
        }
    }

    #[test]
    fn writes_and_tricks_are_not() {
        for command in [
            "cat x > y",
            "echo hi >> notes.txt",
            "git push",
            "git commit -m x",
            "git branch -D main",
            "rm -rf target",
            "ls $(rm -rf /)",
            "echo `touch x`",
            "cat \"$(touch x)\"",
            "sed -i s/a/b/ f",
            "find . -delete",
            "find . -exec rm {} ;",
            "sort -o out.txt in.txt",
            "cargo clippy --fix",
            "cargo run",
            "npm install",
            "ls & rm x",
            "cat <(rm x)",
            "tee out.txt",
            "bash -c 'ls'",
            "env rm x",
            "ls; rm x",
            "cat 'unterminated",
            "",
        ] {
            assert!(!is_read_only(command), "{command}");
        }
    }
}
