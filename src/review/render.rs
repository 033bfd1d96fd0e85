/*! Terminal rendering of unified diffs: additions green, removals red, hunk headers cyan. */

use console::style;

pub fn colored_diff(diff: &str) -> String {
    let mut out = String::new();
    for line in diff.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            style(line).bold().to_string()
        } else if line.starts_with('+') {
            style(line).green().to_string()
        } else if line.starts_with('-') {
            style(line).red().to_string()
        } else if line.starts_with("@@") {
            style(line).cyan().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&styled);
        out.push('\n');
    }
    out
}
