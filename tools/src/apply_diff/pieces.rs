/*! Splitting text into lines fast: both the parser (the diff) and the applier (the file) do it. */

/// The text's lines, each with its `\n` (the last one may have none), as `str::split_inclusive`
/// gives them, but found with the `memchr` crate's vectorised search: splitting is a good part of
/// the time a large diff takes.
pub fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).map(|at| at + 1);
    let ends = ends.chain((!text.ends_with('\n') && !text.is_empty()).then_some(text.len()));
    // Each end is just past a `\n` (or the text's end), so every slice falls on char boundaries.
    ends.scan(0, |start, end| {
        let piece = text.get(*start..end);
        *start = end;
        piece
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_like_split_inclusive() {
        for text in ["", "\n", "a", "a\n", "a\r\nb", "é\n\n→ x\r\n", "\n\nend"] {
            assert_eq!(
                pieces(text).collect::<Vec<_>>(),
                text.split_inclusive('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
