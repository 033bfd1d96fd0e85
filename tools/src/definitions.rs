/*!
Definitions a line of code starts (`def add(`, `pub fn add(`, `function add(`, `class Calc`):
which names a file defines, and where. A plain reading of the first words of a line, for the
languages models most often edit; it knows no grammar and is used only where a miss costs
nothing but a hint.
*/

const KEYWORDS: [&str; 12] = [
    "def",
    "class",
    "fn",
    "function",
    "func",
    "struct",
    "enum",
    "trait",
    "interface",
    "type",
    "impl",
    "module",
];

/// Words that may come before the keyword.
const MODIFIERS: [&str; 8] = [
    "pub", "crate", "export", "async", "default", "public", "private", "static",
];

/// The keyword and name of the definition `line` starts, if it starts one.
pub fn definition(line: &str) -> Option<(&str, &str)> {
    let mut words = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .skip_while(|word| MODIFIERS.contains(word));
    let keyword = words.next()?;
    let name = words.next()?;
    let starts = line.trim_start().starts_with(|c: char| c.is_alphabetic());
    (starts && KEYWORDS.contains(&keyword)).then_some((keyword, name))
}

/// The names `text` defines at the start of its lines, in order, each once.
pub fn names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for (_, name) in text.lines().filter_map(definition) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_of_several_languages() {
        assert_eq!(definition("def add(a, b):"), Some(("def", "add")));
        assert_eq!(
            definition("    async def fetch(self):"),
            Some(("def", "fetch"))
        );
        assert_eq!(definition("pub(crate) fn run() {"), Some(("fn", "run")));
        assert_eq!(
            definition("export function greet(name) {"),
            Some(("function", "greet"))
        );
        assert_eq!(definition("class Calc:"), Some(("class", "Calc")));
        assert_eq!(definition("# def add(a, b):"), None);
        assert_eq!(definition("return add(a, b)"), None);
    }
}
