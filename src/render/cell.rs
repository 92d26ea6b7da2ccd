//! A cell is a few lines of text with meanings, laid out in a fixed-width column. Widths are
//! computed on the plain text, colour is applied last, so padding never counts escape codes.

use super::palette::{Meaning, paint};

/// One line of a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub meaning: Meaning,
}

/// Lines stacked in one column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub lines: Vec<Line>,
}

impl Cell {
    /// Adds text, wrapped to `width` columns.
    pub fn push(&mut self, text: &str, meaning: Meaning, width: usize) {
        for piece in wrap(text, width) {
            self.lines.push(Line {
                text: piece,
                meaning,
            });
        }
    }

    /// Adds text, wrapped, with continuation lines indented by `indent` spaces.
    pub fn push_hanging(&mut self, text: &str, meaning: Meaning, width: usize, indent: usize) {
        let mut first = true;
        for piece in wrap(text, width.saturating_sub(indent).max(8)) {
            let text = if first {
                piece
            } else {
                format!("{}{piece}", " ".repeat(indent))
            };
            self.lines.push(Line { text, meaning });
            first = false;
        }
    }
}

/// Display width of plain text (all symbols txlab prints are one column wide).
pub fn width_of(text: &str) -> usize {
    text.chars().count()
}

/// Pads plain text to `width` and paints it.
pub fn painted(line: &Line, width: usize) -> String {
    let pad = width.saturating_sub(width_of(&line.text));
    format!("{}{}", paint(&line.text, line.meaning), " ".repeat(pad))
}

/// Greedy word wrap; words longer than the width are split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while width_of(&word) > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
            }
            if line.is_empty() {
                line = word;
            } else if width_of(&line) + 1 + width_of(&word) <= width {
                line.push(' ');
                line.push_str(&word);
            } else {
                out.push(std::mem::replace(&mut line, word));
            }
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words_and_splits_long_ones() {
        assert_eq!(
            wrap("UPDATE account SET balance = 1", 14),
            vec!["UPDATE account", "SET balance =", "1"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 5), vec![""]);
    }
}
