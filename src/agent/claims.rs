/*!
A first answer that claims work no tool did. Small models, given a task, often answer at once
with a report ("I modified the function…", "### What changed") without having called a tool:
nothing changed, and the run would end as if it had. Measured on Qwen2.5-Coder-1.5B over the
bench: three of ten tasks in a run ended so. Such an answer, as the session's very first reply,
gets one reminder that nothing has happened yet.
*/

/// What the model is told.
pub const NOTHING_DONE: &str = "[from the agent] Nothing has been changed or run yet in this session: no tool was called, so what your answer describes has not happened. Make the change now with the tools (or with an edit written as the system prompt shows), or say plainly that you cannot.";

/// Whether `answer` reports changes or checks made, in the first person or under a report's
/// heading.
pub fn claims_work(answer: &str) -> bool {
    let lower = answer.to_lowercase();
    let verbs = [
        "modified",
        "changed",
        "updated",
        "fixed",
        "edited",
        "replaced",
        "corrected",
        "ran ",
        "added",
        "removed",
        "verified",
    ];
    let claimed = ["i ", "i've ", "i have "].iter().any(|subject| {
        verbs
            .iter()
            .any(|verb| lower.contains(&format!("{subject}{verb}")))
    });
    let reported = [
        "what changed",
        "summary of changes",
        "changes were made",
        "changes made:",
    ]
    .iter()
    .any(|report| lower.contains(report));
    claimed || reported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_of_work_are_told_from_answers() {
        for claim in [
            "I found the file `counting.py`. I modified the function `count_to` so it returns 1 to n.",
            "### What changed\n- Updated the `median` function.",
            "I've fixed the bug in calc.py.",
            "### Summary of Changes\n1. Open `greeting.js` for editing.\n- The changes were made directly in the file.",
            "To fix it, I ran the tests and I changed `a - b` to `a + b`.",
        ] {
            assert!(claims_work(claim), "{claim}");
        }
        for answer in [
            "The bug is in `add`: it subtracts. Shall I fix it?",
            "calc.py defines add and mul; add returns a - b.",
            "I cannot find a test named test_add.",
        ] {
            assert!(!claims_work(answer), "{answer}");
        }
    }
}
