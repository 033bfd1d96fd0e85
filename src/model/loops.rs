/*!
A reply caught in a loop: small models (Qwen2.5-Coder-1.5B, measured) sometimes write the same
block again and again until the output limit, minutes later. Two shapes are seen: whole lines
repeated (a call written again and again, one per line), and text repeated inside one line
(`"description": "Replace …", "description": "Replace …", …`). Each function says how much of
the text to keep: everything up to the end of the block's first time.
*/

/// The most lines the line check looks at: 4 lines repeated 5 times.
const LOOP_LINES: usize = 20;
/// Periods the in-line check tries, in bytes.
const MIN_PERIOD: usize = 8;
const MAX_PERIOD: usize = 400;
/// How much repeated text makes an in-line loop.
const MIN_LOOP_BYTES: usize = 480;

/// How many times in a row a block of `period` lines makes a loop: more for a single line, which
/// real text repeats more often (test data, tables).
fn line_repeats(period: usize) -> usize {
    if period == 1 { 8 } else { 5 }
}

/// Where to cut `content` when its complete lines end in a block of 1 to 4 lines repeated.
pub fn line_loop(content: &str) -> Option<usize> {
    // The complete lines only: chunks end anywhere in a line.
    let content = &content[..=content.rfind('\n')?];
    let lines: Vec<&str> = content.rsplit_terminator('\n').take(LOOP_LINES).collect();
    let period = (1..=4).find(|&period| {
        let repeats = line_repeats(period);
        let run = &lines[..lines.len().min(period * repeats)];
        let block = &run[..period.min(run.len())];
        run.len() == period * repeats
            && block.iter().map(|line| line.trim().len()).sum::<usize>() >= 16
            && run.chunks(period).all(|chunk| chunk == block)
    })?;
    // However long the run is by now (a chunk may hold many lines), one block is kept.
    let all: Vec<&str> = content.rsplit_terminator('\n').collect();
    let block = &all[..period];
    let runs = all
        .chunks(period)
        .take_while(|chunk| *chunk == block)
        .count();
    let block_len: usize = block.iter().map(|line| line.len() + 1).sum();
    Some(content.len() - block_len * (runs - 1))
}

/// Where to cut `content` when it ends in at least [`MIN_LOOP_BYTES`] of one block of
/// [`MIN_PERIOD`] to [`MAX_PERIOD`] bytes repeated (a block of at least 4 different
/// characters, so a long rule of dashes is no loop).
pub fn text_loop(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    let len = bytes.len();
    let period = (MIN_PERIOD..=MAX_PERIOD).find(|&period| {
        let span = MIN_LOOP_BYTES.max(period * 4);
        span <= len
            && (len - span + period..len).all(|at| bytes[at] == bytes[at - period])
            && distinct(&bytes[len - period..]) >= 4
    })?;
    // Back to where the repetition began, then one block on.
    let mut start = len - period;
    while start > 0 && bytes[start - 1] == bytes[start - 1 + period] {
        start -= 1;
    }
    let mut keep = start + period;
    while !content.is_char_boundary(keep) {
        keep += 1;
    }
    Some(keep)
}

fn distinct(block: &[u8]) -> usize {
    let mut seen = [false; 256];
    block
        .iter()
        .filter(|&&byte| !std::mem::replace(&mut seen[usize::from(byte)], true))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_lines_are_cut_after_their_first_time() {
        let call = "{\"name\": \"edit_file\", \"arguments\": {\"path\": \"x\"}}\n";
        let text = format!("I will edit it:\n{}", call.repeat(9));
        assert_eq!(
            line_loop(&text),
            Some("I will edit it:\n".len() + call.len())
        );
        let block = "- check the input\n- fix the output\n";
        assert_eq!(line_loop(&block.repeat(5)), Some(block.len()));
        assert_eq!(line_loop(&"}\n".repeat(12)), None);
        assert_eq!(line_loop(&call.repeat(7)), None);
    }

    #[test]
    fn text_repeated_inside_a_line_is_cut_after_its_first_time() {
        let block = "\"description\": \"Replace `split(` with `split(\" ";
        let text = format!("{{\"edits\": [{}", block.repeat(30));
        assert_eq!(text_loop(&text), Some("{\"edits\": [".len() + block.len()));
        assert_eq!(text_loop(&"-".repeat(2000)), None);
        assert_eq!(text_loop(&format!("x = [{}]", "0, ".repeat(100))), None);
        assert_eq!(text_loop("short"), None);
    }
}
