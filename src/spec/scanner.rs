//! The spec scanner: turns spec text into tokens, each with the line it starts on. It follows
//! PostgreSQL's `specscanner.l`: keywords, plain and `"quoted"` identifiers, `{ sql }` blocks
//! (leading and trailing blanks trimmed, newlines kept, the first `}` ends the block), integers,
//! the punctuation `, ( ) *`, and `#` comments to the end of the line.

use std::fmt;

/// One token of a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Setup,
    Teardown,
    Session,
    Step,
    Permutation,
    Notices,
    /// A step or session name, plain or quoted (quotes removed, `""` undoubled).
    Ident(String),
    /// The text between `{` and `}`.
    Sql(String),
    Integer(u32),
    Comma,
    Open,
    Close,
    Star,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Setup => f.write_str("'setup'"),
            Token::Teardown => f.write_str("'teardown'"),
            Token::Session => f.write_str("'session'"),
            Token::Step => f.write_str("'step'"),
            Token::Permutation => f.write_str("'permutation'"),
            Token::Notices => f.write_str("'notices'"),
            Token::Ident(name) => write!(f, "name '{name}'"),
            Token::Sql(_) => f.write_str("a { sql } block"),
            Token::Integer(n) => write!(f, "number {n}"),
            Token::Comma => f.write_str("','"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Star => f.write_str("'*'"),
        }
    }
}

/// A token and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub token: Token,
    pub line: usize,
}

/// A scanning error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub line: usize,
    pub message: String,
}

/// Blanks that separate tokens and are trimmed around SQL blocks (not newlines).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0c')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '$'
}

fn keyword(word: &str) -> Option<Token> {
    Some(match word {
        "notices" => Token::Notices,
        "permutation" => Token::Permutation,
        "session" => Token::Session,
        "setup" => Token::Setup,
        "step" => Token::Step,
        "teardown" => Token::Teardown,
        _ => return None,
    })
}

/// Splits a spec into tokens.
pub fn scan(text: &str) -> Result<Vec<Located>, ScanError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let err = |line: usize, message: &str| ScanError {
        line,
        message: message.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let token = match c {
            '\n' => {
                line += 1;
                i += 1;
                continue;
            }
            c if is_blank(c) => {
                i += 1;
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '*' => Token::Star,
            '{' => {
                i += 1;
                while i < chars.len() && is_blank(chars[i]) {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && chars[i] != '}' {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if i == chars.len() {
                    return Err(err(start_line, "unterminated sql block: no closing '}'"));
                }
                let mut end = i;
                while end > start && is_blank(chars[end - 1]) {
                    end -= 1;
                }
                Token::Sql(chars[start..end].iter().collect())
            }
            '"' => {
                i += 1;
                let mut name = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(err(start_line, "unterminated quoted identifier")),
                        Some('\n') => {
                            return Err(err(start_line, "unexpected newline in quoted identifier"));
                        }
                        Some('"') if chars.get(i + 1) == Some(&'"') => {
                            name.push('"');
                            i += 2;
                        }
                        Some('"') => break,
                        Some(&ch) => {
                            name.push(ch);
                            i += 1;
                        }
                    }
                }
                Token::Ident(name)
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i + 1 < chars.len() && chars[i + 1].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..=i].iter().collect();
                let n = digits
                    .parse()
                    .map_err(|_| err(start_line, &format!("number {digits} is too large")))?;
                Token::Integer(n)
            }
            c if is_ident_start(c) => {
                let start = i;
                while i + 1 < chars.len() && is_ident_cont(chars[i + 1]) {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect();
                keyword(&word).unwrap_or(Token::Ident(word))
            }
            other => {
                return Err(err(
                    start_line,
                    &format!("unexpected character \"{other}\""),
                ));
            }
        };
        tokens.push(Located {
            token,
            line: start_line,
        });
        i += 1;
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        scan(text).unwrap().into_iter().map(|l| l.token).collect()
    }

    #[test]
    fn trims_blanks_around_sql_but_keeps_newlines() {
        assert_eq!(
            tokens("step s1 {  SELECT 1;\t}"),
            vec![
                Token::Step,
                Token::Ident("s1".into()),
                Token::Sql("SELECT 1;".into())
            ]
        );
        assert_eq!(
            tokens("{\n  SELECT 1;\n}"),
            vec![Token::Sql("\n  SELECT 1;\n".into())]
        );
    }

    #[test]
    fn keywords_identifiers_markers_and_comments() {
        assert_eq!(
            tokens("permutation a(b notices 2, *) \"x\"\"y\" setup2 # comment ( \n"),
            vec![
                Token::Permutation,
                Token::Ident("a".into()),
                Token::Open,
                Token::Ident("b".into()),
                Token::Notices,
                Token::Integer(2),
                Token::Comma,
                Token::Star,
                Token::Close,
                Token::Ident("x\"y".into()),
                Token::Ident("setup2".into()),
            ]
        );
    }

    #[test]
    fn counts_lines_inside_sql_blocks() {
        let located = scan("setup\n{\nA;\nB;\n}\nstep x {C}").unwrap();
        assert_eq!(located[1].line, 2);
        assert_eq!(located[2].line, 6);
        assert_eq!(located[3].line, 6);
    }

    #[test]
    fn reports_bad_input_with_its_line() {
        assert_eq!(
            scan("setup\n{ SELECT 1;").unwrap_err(),
            ScanError {
                line: 2,
                message: "unterminated sql block: no closing '}'".into()
            }
        );
        assert_eq!(scan("\n\n step a ; ").unwrap_err().line, 3);
        assert_eq!(
            scan("\"ab\ncd\"").unwrap_err().message,
            "unexpected newline in quoted identifier"
        );
    }
}
