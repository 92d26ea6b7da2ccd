//! The spec grammar, as in PostgreSQL's `specparse.y`:
//!
//! ```text
//! spec        := setup* [teardown] session+ permutation*
//! setup       := 'setup' SQL            teardown := 'teardown' SQL
//! session     := 'session' NAME ['setup' SQL] step+ ['teardown' SQL]
//! step        := 'step' NAME SQL
//! permutation := 'permutation' pstep+
//! pstep       := NAME ['(' blocker (',' blocker)* ')']
//! blocker     := '*' | NAME ['notices' INTEGER]
//! ```
//!
//! A recursive-descent parser over the scanner's tokens; every error names the line and what was
//! expected there.

use super::scanner::{Located, Token, scan};

/// A parsed spec, before names are resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    pub setup: Vec<String>,
    pub teardown: Option<String>,
    pub sessions: Vec<SpecSession>,
    pub permutations: Vec<SpecPermutation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecSession {
    pub name: String,
    pub line: usize,
    pub setup: Option<String>,
    pub steps: Vec<SpecStep>,
    pub teardown: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecStep {
    pub name: String,
    pub line: usize,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecPermutation {
    pub line: usize,
    pub steps: Vec<PermutationStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationStep {
    pub name: String,
    pub line: usize,
    pub blockers: Vec<SpecBlocker>,
}

/// A marker after a step name in a permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecBlocker {
    /// `(*)`
    Once,
    /// `(other)`
    Step { name: String, line: usize },
    /// `(other notices N)`
    Notices {
        name: String,
        count: u32,
        line: usize,
    },
}

/// A syntax error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses spec text.
pub fn parse(text: &str) -> Result<Spec, ParseError> {
    let tokens = scan(text).map_err(|e| ParseError {
        line: e.line,
        message: e.message,
    })?;
    let last_line = text.lines().count().max(1);
    Parser {
        tokens,
        pos: 0,
        last_line,
    }
    .spec()
}

struct Parser {
    tokens: Vec<Located>,
    pos: usize,
    last_line: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|l| &l.token)
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map(|l| l.line)
            .unwrap_or(self.last_line)
    }

    fn next(&mut self) -> Option<Located> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> ParseError {
        let found = match self.peek() {
            Some(t) => t.to_string(),
            None => "the end of the file".to_string(),
        };
        ParseError {
            line: self.line(),
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn sql(&mut self, after: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Sql(_)) => match self.next().map(|l| l.token) {
                Some(Token::Sql(sql)) => Ok(sql),
                _ => unreachable!("peeked an SQL block"),
            },
            _ => Err(self.error(&format!("a {{ sql }} block after {after}"))),
        }
    }

    fn name(&mut self, what: &str) -> Result<(String, usize), ParseError> {
        match self.peek() {
            Some(Token::Ident(_)) => match self.next() {
                Some(Located {
                    token: Token::Ident(name),
                    line,
                }) => Ok((name, line)),
                _ => unreachable!("peeked a name"),
            },
            _ => Err(self.error(what)),
        }
    }

    fn spec(mut self) -> Result<Spec, ParseError> {
        let mut spec = Spec::default();
        while self.eat(&Token::Setup) {
            spec.setup.push(self.sql("'setup'")?);
        }
        if self.eat(&Token::Teardown) {
            spec.teardown = Some(self.sql("'teardown'")?);
        }
        if self.peek() != Some(&Token::Session) {
            let expected = if spec.teardown.is_some() {
                "'session'"
            } else if spec.setup.is_empty() {
                "'setup', 'teardown' or 'session'"
            } else {
                "'setup', 'teardown' or 'session' (a spec needs at least one session)"
            };
            return Err(self.error(expected));
        }
        while self.eat(&Token::Session) {
            spec.sessions.push(self.session()?);
        }
        while self.peek().is_some() {
            let line = self.line();
            if !self.eat(&Token::Permutation) {
                return Err(self.error("'session', 'step' or 'permutation'"));
            }
            spec.permutations.push(self.permutation(line)?);
        }
        Ok(spec)
    }

    fn session(&mut self) -> Result<SpecSession, ParseError> {
        let (name, line) = self.name("a session name after 'session'")?;
        let setup = if self.eat(&Token::Setup) {
            Some(self.sql("'setup'")?)
        } else {
            None
        };
        let mut steps = Vec::new();
        while self.eat(&Token::Step) {
            let (step, line) = self.name("a step name after 'step'")?;
            let sql = self.sql(&format!("step {step}"))?;
            steps.push(SpecStep {
                name: step,
                line,
                sql,
            });
        }
        if steps.is_empty() {
            let expected = if setup.is_some() {
                "'step' (a session needs at least one step)"
            } else {
                "'setup' or 'step' (a session needs at least one step)"
            };
            return Err(self.error(expected));
        }
        let teardown = if self.eat(&Token::Teardown) {
            Some(self.sql("'teardown'")?)
        } else {
            None
        };
        Ok(SpecSession {
            name,
            line,
            setup,
            steps,
            teardown,
        })
    }

    fn permutation(&mut self, line: usize) -> Result<SpecPermutation, ParseError> {
        let mut steps = Vec::new();
        while let Some(Token::Ident(_)) = self.peek() {
            let (name, line) = self.name("a step name")?;
            let mut blockers = Vec::new();
            if self.eat(&Token::Open) {
                loop {
                    blockers.push(self.blocker()?);
                    if self.eat(&Token::Close) {
                        break;
                    }
                    if !self.eat(&Token::Comma) {
                        return Err(self.error("',' or ')' in the markers"));
                    }
                }
            }
            steps.push(PermutationStep {
                name,
                line,
                blockers,
            });
        }
        if steps.is_empty() {
            return Err(self.error("a step name after 'permutation'"));
        }
        Ok(SpecPermutation { line, steps })
    }

    fn blocker(&mut self) -> Result<SpecBlocker, ParseError> {
        if self.eat(&Token::Star) {
            return Ok(SpecBlocker::Once);
        }
        let (name, line) = self.name("'*' or a step name in the markers")?;
        if self.eat(&Token::Notices) {
            return match self.next() {
                Some(Located {
                    token: Token::Integer(count),
                    ..
                }) => Ok(SpecBlocker::Notices { name, count, line }),
                _ => {
                    self.pos -= 1;
                    Err(self.error("a number after 'notices'"))
                }
            };
        }
        Ok(SpecBlocker::Step { name, line })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "\
# a comment
setup { CREATE TABLE t (x int); }
setup { INSERT INTO t VALUES (1); }
teardown { DROP TABLE t; }

session s1
setup { BEGIN; }
step r1 { SELECT * FROM t; }
step c1 { COMMIT; }
teardown { SELECT 1; }

session \"s 2\"
step w2 { UPDATE t SET x = 2; }

permutation r1 w2(r1, *) c1(w2 notices 1)
permutation w2 r1 c1
";

    #[test]
    fn parses_every_part_of_the_grammar() {
        let spec = parse(SPEC).unwrap();
        assert_eq!(spec.setup.len(), 2);
        assert_eq!(spec.teardown.as_deref(), Some("DROP TABLE t;"));
        assert_eq!(spec.sessions.len(), 2);
        assert_eq!(spec.sessions[0].setup.as_deref(), Some("BEGIN;"));
        assert_eq!(spec.sessions[0].teardown.as_deref(), Some("SELECT 1;"));
        assert_eq!(spec.sessions[1].name, "s 2");
        assert_eq!(spec.sessions[1].steps[0].line, 13);
        assert_eq!(spec.permutations.len(), 2);
        let p = &spec.permutations[0];
        assert_eq!(p.line, 15);
        assert_eq!(
            p.steps[1].blockers,
            vec![
                SpecBlocker::Step {
                    name: "r1".into(),
                    line: 15
                },
                SpecBlocker::Once
            ]
        );
        assert_eq!(
            p.steps[2].blockers,
            vec![SpecBlocker::Notices {
                name: "w2".into(),
                count: 1,
                line: 15
            }]
        );
    }

    fn error(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        assert_eq!(
            error("setup { x }\n\nstep s1 { y }"),
            (
                3,
                "expected 'setup', 'teardown' or 'session' (a spec needs at least one session), found 'step'".into()
            )
        );
        assert_eq!(
            error("session s1\nstep a { x }\npermutation a(b, )"),
            (
                3,
                "expected '*' or a step name in the markers, found ')'".into()
            )
        );
        assert_eq!(
            error("session s1\nsetup { x }\nteardown { y }"),
            (
                3,
                "expected 'step' (a session needs at least one step), found 'teardown'".into()
            )
        );
        assert_eq!(
            error("session s1\nstep a\n{ x }\nstep b\n"),
            (
                4,
                "expected a { sql } block after step b, found the end of the file".into()
            )
        );
        assert_eq!(
            error("session s1\nstep a { x }\npermutation a(b notices)"),
            (3, "expected a number after 'notices', found ')'".into())
        );
        assert_eq!(
            error("session s1\nstep a { x }\npermutation\n"),
            (
                3,
                "expected a step name after 'permutation', found the end of the file".into()
            )
        );
        assert_eq!(
            error("session s1\nstep a { x }\n\nsetup { y }"),
            (
                4,
                "expected 'session', 'step' or 'permutation', found 'setup'".into()
            )
        );
    }
}
