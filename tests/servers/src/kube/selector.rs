//! Label selectors as the API server reads the `labelSelector` parameter of a
//! list (the grammar of k8s.io/apimachinery `labels.Parse`):
//!
//! ```text
//! selector    ::= requirement ("," requirement)*
//! requirement ::= ["!"] KEY [ ("in" | "notin") "(" VALUE ("," VALUE)* ")"
//!                          | ("=" | "==" | "!=" | ">" | "<") VALUE ]
//! ```
//!
//! `key` alone means the label exists, `!key` that it does not; `!=` and
//! `notin` also match objects without the label. Keys must be label keys and
//! values label values; `>` and `<` take an integer. A selector that does not
//! parse is a 400 BadRequest with the parser's message (ApplySet prunes list
//! their members by `applyset.kubernetes.io/part-of=<id>`, so a wrong answer
//! here would delete the wrong objects).

use serde_json::{Map, Value};

use super::validation::{aggregate, label_key_errors, label_value_errors};

/// How a requirement relates a label to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    /// `=`, `==`, `in`: the label exists with one of the values.
    In,
    /// `!=`, `notin`: the label is absent or has none of the values.
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>N`: the label is an integer greater than N.
    GreaterThan,
    /// `key<N`.
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector; the error is the message the API server sends.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let tokens = lex(text)?;
        Parser { tokens, at: 0 }.selector()
    }

    /// Whether an object with these labels (`metadata.labels`) is selected.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|r| {
            let value = label(&r.key);
            let integer = |v: &str| v.parse::<i64>().ok();
            let bound = r.values.first().and_then(|v| integer(v));
            match r.operator {
                Operator::In => value.is_some_and(|v| r.values.iter().any(|w| w == v)),
                Operator::NotIn => value.is_none_or(|v| !r.values.iter().any(|w| w == v)),
                Operator::Exists => value.is_some(),
                Operator::DoesNotExist => value.is_none(),
                Operator::GreaterThan => {
                    matches!((value.and_then(integer), bound), (Some(v), Some(b)) if v > b)
                }
                Operator::LessThan => {
                    matches!((value.and_then(integer), bound), (Some(v), Some(b)) if v < b)
                }
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Identifier(String),
    /// `!`
    Not,
    /// `=` or `==`
    Equals(&'static str),
    /// `!=`
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    Open,
    Close,
    Comma,
}

impl Token {
    /// The text the parser's messages quote.
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::Identifier(text) => text,
            Token::Not => "!",
            Token::Equals(text) => text,
            Token::NotEquals => "!=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// Splits a selector into tokens: runs of operator characters are read as
/// the longest operator they start with, anything else up to whitespace or an
/// operator character is an identifier (or the keyword `in`/`notin`).
fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if is_blank(c) {
            at += 1;
        } else if is_special(c) {
            let next = chars.get(at + 1).copied();
            let (token, width) = match (c, next) {
                ('=', Some('=')) => (Token::Equals("=="), 2),
                ('!', Some('=')) => (Token::NotEquals, 2),
                ('=', _) => (Token::Equals("="), 1),
                ('!', _) => (Token::Not, 1),
                ('>', _) => (Token::GreaterThan, 1),
                ('<', _) => (Token::LessThan, 1),
                ('(', _) => (Token::Open, 1),
                (')', _) => (Token::Close, 1),
                _ => (Token::Comma, 1),
            };
            tokens.push(token);
            at += width;
        } else {
            let start = at;
            while at < chars.len() && !is_special(chars[at]) && !is_blank(chars[at]) {
                at += 1;
            }
            let word: String = chars[start..at].iter().collect();
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
        }
    }
    tokens.push(Token::End);
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    /// The next token; where a value is expected, `in` and `notin` are
    /// ordinary words (`x in (in)`).
    fn peek(&self, as_value: bool) -> Token {
        let token = self.tokens[self.at.min(self.tokens.len() - 1)].clone();
        match token {
            Token::In | Token::NotIn if as_value => Token::Identifier(token.literal().to_string()),
            other => other,
        }
    }

    fn next(&mut self, as_value: bool) -> Token {
        let token = self.peek(as_value);
        self.at += 1;
        token
    }

    fn selector(mut self) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        loop {
            match self.peek(true) {
                Token::Identifier(_) | Token::Not => {
                    let requirement = self
                        .requirement()
                        .map_err(|err| format!("unable to parse requirement: {err}"))?;
                    requirements.push(requirement);
                    match self.next(true) {
                        Token::End => break,
                        Token::Comma => match self.peek(true) {
                            Token::Identifier(_) | Token::Not => {}
                            other => {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    other.literal()
                                ))
                            }
                        },
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.literal()
                            ))
                        }
                    }
                }
                Token::End => break,
                other => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.literal()
                    ))
                }
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut token = self.next(true);
        let negated = token == Token::Not;
        if negated {
            token = self.next(true);
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found '{}', expected: identifier", token.literal()));
        };
        // The parser checks the key with no field path, which Go prints as `<nil>`.
        let key_errors = label_key_errors(&key);
        if !key_errors.is_empty() {
            return Err(format!(
                "<nil>: Invalid value: {key:?}: {}",
                key_errors.join("; ")
            ));
        }
        if matches!(self.peek(true), Token::End | Token::Comma) {
            let operator = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                operator,
                values: Vec::new(),
            });
        }
        let operator_token = self.next(false);
        let (operator, values) = match operator_token {
            Token::In => (Operator::In, self.value_set()?),
            Token::NotIn => (Operator::NotIn, self.value_set()?),
            Token::Equals(_) => (Operator::In, self.exact_value()?),
            Token::NotEquals => (Operator::NotIn, self.exact_value()?),
            Token::GreaterThan => (Operator::GreaterThan, self.exact_value()?),
            Token::LessThan => (Operator::LessThan, self.exact_value()?),
            other => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.literal()
                ))
            }
        };
        // labels.NewRequirement: every problem of the values, aggregated.
        let mut errors = Vec::new();
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for (i, value) in values.iter().enumerate() {
                if value.parse::<i64>().is_err() {
                    errors.push(format!("values[{i}]: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer"));
                }
            }
        }
        for (i, value) in values.iter().enumerate() {
            let problems = label_value_errors(value);
            if !problems.is_empty() {
                errors.push(format!(
                    "values[{i}][{key}]: Invalid value: {value:?}: {}",
                    problems.join("; ")
                ));
            }
        }
        if !errors.is_empty() {
            return Err(aggregate(&errors));
        }
        Ok(Requirement {
            key,
            operator,
            values,
        })
    }

    /// `(a,b)`; empty members are the empty value (`(a,,b)`, `()`).
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let open = self.next(true);
        if open != Token::Open {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        if !matches!(
            self.peek(true),
            Token::Identifier(_) | Token::Comma | Token::Close
        ) {
            return Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                self.peek(true).literal()
            ));
        }
        let mut values: Vec<String> = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next(true) {
                Token::Identifier(value) if expect_value => {
                    values.push(value);
                    expect_value = false;
                }
                Token::Comma => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Token::Close => {
                    if expect_value {
                        values.push(String::new());
                    }
                    break;
                }
                other if expect_value => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        other.literal()
                    ))
                }
                other => return Err(format!("found '{}', expected: ',' or ')'", other.literal())),
            }
        }
        values.sort();
        values.dedup();
        Ok(values)
    }

    /// The one value after `=`, `==`, `!=`, `>` or `<` (empty when none follows).
    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        match self.peek(true) {
            Token::End | Token::Comma => Ok(vec![String::new()]),
            _ => match self.next(true) {
                Token::Identifier(value) => Ok(vec![value]),
                other => Err(format!("found '{}', expected: identifier", other.literal())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn selects(selector: &str, object_labels: Value) -> bool {
        LabelSelector::parse(selector)
            .unwrap_or_else(|err| panic!("{selector}: {err}"))
            .matches(Some(&labels(object_labels)))
    }

    #[test]
    fn equality_operators() {
        let member = json!({"applyset.kubernetes.io/part-of": "applyset-abc", "tier": "a"});
        assert!(selects(
            "applyset.kubernetes.io/part-of=applyset-abc",
            member.clone()
        ));
        assert!(selects(
            "applyset.kubernetes.io/part-of==applyset-abc",
            member.clone()
        ));
        assert!(!selects(
            "applyset.kubernetes.io/part-of=applyset-xyz",
            member.clone()
        ));
        assert!(selects("tier!=b", member.clone()));
        assert!(!selects("tier!=a", member.clone()));
        // `!=` also selects objects without the label (labels.Requirement.Matches).
        assert!(selects("missing!=a", member.clone()));
        assert!(selects(
            "tier=a,applyset.kubernetes.io/part-of=applyset-abc",
            member.clone()
        ));
        assert!(!selects(
            "tier=a,applyset.kubernetes.io/part-of=other",
            member
        ));
    }

    #[test]
    fn set_operators_existence_and_comparisons() {
        let object = json!({"env": "stage", "size": "3"});
        assert!(selects("env in (prod, stage)", object.clone()));
        assert!(!selects("env in (prod)", object.clone()));
        assert!(selects("env notin (prod)", object.clone()));
        assert!(!selects("env notin (prod,stage)", object.clone()));
        assert!(selects("team notin (x)", object.clone()));
        assert!(!selects("team in (x)", object.clone()));
        assert!(selects("env", object.clone()));
        assert!(!selects("!env", object.clone()));
        assert!(selects("!team", object.clone()));
        assert!(selects("size>2,size<4", object.clone()));
        assert!(!selects("size>3", object.clone()));
        // Keywords are values where a value is expected.
        assert!(selects("k in (in, notin)", json!({"k": "in"})));
        // An empty value matches an empty label.
        assert!(selects("k=", json!({"k": ""})));
        assert!(selects("k in (a,,b)", json!({"k": ""})));
        assert!(selects("", object.clone()));
        assert!(LabelSelector::parse("env")
            .unwrap()
            .matches(None)
            .eq(&false));
        assert!(LabelSelector::parse("!env").unwrap().matches(None));
    }

    #[test]
    fn malformed_selectors_get_the_parsers_message() {
        let error = |selector: &str| LabelSelector::parse(selector).unwrap_err();
        assert_eq!(
            error("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(error("a=b,"), "found '', expected: identifier after ','");
        assert_eq!(
            error("a in b"),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            error("a in (b c)"),
            "unable to parse requirement: found 'c', expected: ',' or ')'"
        );
        assert_eq!(
            error("=a"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert!(error("a>b").contains("the value must be an integer"));
        assert!(error("Bad_Prefix/x=1")
            .starts_with("unable to parse requirement: <nil>: Invalid value: \"Bad_Prefix/x\": prefix part a lowercase RFC 1123 subdomain"));
        assert_eq!(
            error("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert!(error("a=-x").contains(
            "values[0][a]: Invalid value: \"-x\": a valid label must be an empty string"
        ));
    }
}
