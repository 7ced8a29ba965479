//! The template text as Jinja2's lexer and parser see it, where minijinja
//! would see something else. Before minijinja compiles a template:
//!
//! - line breaks become `\n` (Jinja2's lexer normalises `\r\n` and `\r`);
//! - a decimal number with a leading zero (`0755`) is a syntax error, as in
//!   Jinja2, whose lexer reads `0` and `755` as two numbers (minijinja would
//!   read 755);
//! - Python's `%` operator (`'%s-x' % name`) becomes a call of
//!   [`PERCENT_FUNCTION`], which formats strings the printf way and takes the
//!   remainder of numbers (minijinja only knows the remainder). The operands
//!   are found with Jinja2's precedence: `%` binds like `*`, `/` and `//`,
//!   tighter than `~`, `+`, `-` and comparisons, looser than `**`, filters,
//!   tests, calls, subscripts and attributes.
//!
//! - Jinja2's `~` (`'id-' ~ value`) becomes a call of [`CONCAT_FUNCTION`],
//!   which writes each operand as Python's `str()` does (minijinja's own
//!   `~` writes `1e+20` as `100000000000000000000.0` and leaves U+00A0
//!   unescaped inside a list). `~` binds looser than `*` and `%`, tighter
//!   than `+`, `-`, comparisons and keywords.
//!
//! - a string literal means what Python's `unicode-escape` makes of it (as
//!   in Jinja2's lexer): `\a`, `\v`, `\U0001F600`, octal up to `\777`,
//!   a backslash-newline continuation, and unknown escapes such as `\/`
//!   kept as written; each literal is written again in the escapes
//!   minijinja reads the same way (`\N{NAME}` is refused: addon-flow has
//!   no table of Unicode names);
//!
//! Only the inside of `{{ }}` and `{% %}` tags is looked at; text, comments
//! and `{% raw %}` blocks stay as they are, and no line break is added or
//! removed, so every line number minijinja reports is the file's.

/// The function `a % b` is rewritten to call.
pub(super) const PERCENT_FUNCTION: &str = "__py_percent";

/// The function `a ~ b ~ c` is rewritten to call.
pub(super) const CONCAT_FUNCTION: &str = "__py_concat";

/// A template Jinja2 would refuse to compile, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SourceError {
    pub line: usize,
    pub message: String,
}

/// At most this many `%` and `~` operators in one template: each is found
/// by lexing its tag again, so the work grows with their square.
pub(super) const MAX_REWRITTEN_OPERATORS: usize = 256;

/// At most this many operators in one tag. minijinja builds a chain of
/// operators, filters, attributes or calls as nested nodes and walks them
/// recursively, so a few thousand in a row overflow a thread's stack;
/// Jinja2 itself fails with a RecursionError near a thousand.
pub(super) const MAX_OPERATORS_PER_TAG: usize = 500;

/// The template text minijinja should compile for Jinja2 source `text`.
pub(super) fn prepare(text: &str) -> Result<String, SourceError> {
    // Line breaks made `\n`; the usual text, which has no `\r`, is not
    // copied twice for that.
    let mut text = match text.contains('\r') {
        true => text.replace("\r\n", "\n").replace('\r', "\n"),
        false => text.to_string(),
    };
    let (spans, raw_ends) = tags(&text);
    check_numbers(&text, &spans)?;
    check_chain_lengths(&text, &spans)?;
    // Jinja2's lexer does not apply trim_blocks to `{% raw %}` itself (its
    // rule for the tag has no `\n?`); minijinja does, unless told `+%}`.
    let mut edits: Vec<(usize, usize, String)> = raw_ends
        .into_iter()
        .map(|at| (at, at, "+".to_string()))
        .collect();
    let mut budget = MAX_REWRITTEN_OPERATORS;
    for span in &spans {
        let needs_work = span.tokens.iter().any(|t| {
            t.is_op("%") || t.is_op("~") || (t.kind == Kind::Str && t.text.contains('\\'))
        });
        if !needs_work {
            continue;
        }
        let content = rewrite_tag(&text[span.start..span.end], &mut budget).map_err(|message| {
            SourceError {
                line: line_of(&text, span.start),
                message,
            }
        })?;
        edits.push((span.start, span.end, content));
    }
    // Back to front, so the offsets of the edits before stay valid.
    edits.sort_by_key(|&(start, _, _)| std::cmp::Reverse(start));
    for (start, end, replacement) in edits {
        text.replace_range(start..end, &replacement);
    }
    Ok(text)
}

/// The inside of one tag with each `%`, then each `~`, rewritten, leftmost
/// first; an operator that cannot be rewritten (a syntax error minijinja
/// will report) stays.
fn rewrite_tag(content: &str, budget: &mut usize) -> Result<String, String> {
    let mut content = content.to_string();
    let (tokens, _, _) = lex(&content, 0, None);
    let literals: Vec<(usize, usize, String)> = tokens
        .iter()
        .rev()
        .filter(|t| t.kind == Kind::Str && t.text.contains('\\'))
        .map(|t| Ok((t.start, t.end, reencode_string(t.text)?)))
        .collect::<Result<_, String>>()?;
    for (start, end, literal) in literals {
        content.replace_range(start..end, &literal);
    }
    for (op, rewrite) in [
        (
            "%",
            rewrite_percent as fn(&str, &[Token], usize) -> Option<String>,
        ),
        ("~", rewrite_concat),
    ] {
        let mut skip = 0;
        loop {
            let (tokens, _, _) = lex(&content, 0, None);
            let Some(index) = tokens
                .iter()
                .enumerate()
                .filter(|(_, t)| t.is_op(op))
                .map(|(i, _)| i)
                .nth(skip)
            else {
                break;
            };
            if *budget == 0 {
                return Err(format!(
                    "the template uses the % and ~ operators more than \
                     {MAX_REWRITTEN_OPERATORS} times"
                ));
            }
            *budget -= 1;
            match rewrite(&content, &tokens, index) {
                Some(rewritten) => content = rewritten,
                None => skip += 1,
            }
        }
    }
    Ok(content)
}

/// A Jinja2 string literal (quotes included) written again in the escapes
/// minijinja reads as Python reads the original. A backslash-newline
/// continuation becomes two adjacent literals on two lines, which Jinja2
/// and minijinja both join, so every line keeps its number.
fn reencode_string(literal: &str) -> Result<String, String> {
    let body = &literal[1..literal.len().saturating_sub(1).max(1)];
    let pieces = python_unescape(body)?;
    Ok(pieces
        .iter()
        .map(|piece| {
            let mut out = String::from("'");
            for c in piece.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("\\'"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || c == '\u{7f}' => {
                        out.push_str(&format!("\\u{:04x}", c as u32))
                    }
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Python's `text.encode("ascii", "backslashreplace").decode("unicode-escape")`,
/// split at each backslash-newline continuation.
fn python_unescape(body: &str) -> Result<Vec<String>, String> {
    // backslashreplace: every non-ASCII character as its escape first, so
    // that `\é` means what it means to Python (a backslash, then `xe9`).
    let mut ascii = String::with_capacity(body.len());
    for c in body.chars() {
        match c as u32 {
            0..=0x7f => ascii.push(c),
            code @ 0x80..=0xff => ascii.push_str(&format!("\\x{code:02x}")),
            code @ 0x100..=0xffff => ascii.push_str(&format!("\\u{code:04x}")),
            code => ascii.push_str(&format!("\\U{code:08x}")),
        }
    }
    let chars: Vec<char> = ascii.chars().collect();
    let mut pieces = vec![String::new()];
    let mut i = 0;
    let hex = |from: usize, len: usize, what: &str| -> Result<u32, String> {
        let digits: String = chars
            .get(from..from + len)
            .map(|d| d.iter().collect())
            .unwrap_or_default();
        if digits.len() == len && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(u32::from_str_radix(&digits, 16).unwrap_or(0))
        } else {
            Err(format!(
                "syntax error: truncated \\{what} escape in a string literal"
            ))
        }
    };
    let character = |code: u32| -> Result<char, String> {
        char::from_u32(code).ok_or_else(|| {
            format!(
                "syntax error: the string escape for U+{code:04X} is not a character \
                 addon-flow can hold (a surrogate or beyond U+10FFFF)"
            )
        })
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        let piece = pieces.last_mut().expect("one piece at least");
        if c != '\\' {
            piece.push(c);
            continue;
        }
        let Some(&next) = chars.get(i) else {
            return Err("syntax error: a string literal ends in a backslash".into());
        };
        i += 1;
        match next {
            '\n' => pieces.push(String::new()),
            '\\' | '\'' | '"' => piece.push(next),
            'a' => piece.push('\u{7}'),
            'b' => piece.push('\u{8}'),
            'f' => piece.push('\u{c}'),
            'n' => piece.push('\n'),
            'r' => piece.push('\r'),
            't' => piece.push('\t'),
            'v' => piece.push('\u{b}'),
            '0'..='7' => {
                let mut code = next.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                piece.push(character(code)?);
            }
            'x' => {
                piece.push(character(hex(i, 2, "xXX")?)?);
                i += 2;
            }
            'u' => {
                piece.push(character(hex(i, 4, "uXXXX")?)?);
                i += 4;
            }
            'U' => {
                piece.push(character(hex(i, 8, "UXXXXXXXX")?)?);
                i += 8;
            }
            'N' => {
                return Err(
                    "the \\N{NAME} string escape is not supported by addon-flow's Jinja \
                     (no table of Unicode names): write the character, or \\uXXXX"
                        .into(),
                )
            }
            other => {
                piece.push('\\');
                piece.push(other);
            }
        }
    }
    Ok(pieces)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Name,
    Number,
    Str,
    Op,
    Open,
    Close,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    start: usize,
    end: usize,
    /// Bracket depth inside the tag; a bracket has its outer depth.
    depth: usize,
    /// The token's text, in the text lexed (not copied: lexing is done for
    /// every template an add-on renders).
    text: &'a str,
}

impl Token<'_> {
    fn is_op(&self, op: &str) -> bool {
        self.kind == Kind::Op && self.text == op
    }

    fn is_name(&self, name: &str) -> bool {
        self.kind == Kind::Name && self.text == name
    }

    /// A name Jinja2's expression grammar reserves.
    fn is_keyword(&self) -> bool {
        self.kind == Kind::Name
            && matches!(
                self.text,
                "and" | "or" | "not" | "if" | "else" | "in" | "is" | "for" | "recursive"
            )
    }

    /// A token that can end an operand: a binary `-` or `+` follows it.
    fn ends_operand(&self) -> bool {
        matches!(self.kind, Kind::Number | Kind::Str | Kind::Close)
            || (self.kind == Kind::Name && !self.is_keyword())
    }

    fn starts_primary(&self) -> bool {
        matches!(self.kind, Kind::Number | Kind::Str | Kind::Open)
            || (self.kind == Kind::Name && !self.is_keyword())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// `0755`: Jinja2 lexes an integer `0` (its rule for a zero is `0(_?0)*`)
/// and then `755`, two numbers in a row, which its parser refuses.
fn check_numbers(text: &str, spans: &[TagSpan]) -> Result<(), SourceError> {
    for span in spans {
        for token in span.tokens.iter().filter(|t| t.kind == Kind::Number) {
            let zero_then_digit = token.text.len() > 1
                && token.text.starts_with('0')
                && !token.text[1..].starts_with(['x', 'X', 'o', 'O', 'b', 'B', '.', 'e', 'E'])
                && !token.text.contains(['.', 'e', 'E'])
                && token
                    .text
                    .trim_start_matches(['0', '_'])
                    .bytes()
                    .any(|b| b.is_ascii_digit());
            if zero_then_digit {
                return Err(SourceError {
                    line: line_of(text, token.start),
                    message: format!(
                        "syntax error: {} is not a number in Jinja2, which reads a leading zero \
                         as the number 0 followed by another number; write {} (or 0o{} for octal)",
                        token.text,
                        token.text.trim_start_matches(['0', '_']),
                        token.text.trim_start_matches(['0', '_'])
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Refuses a tag with more than [`MAX_OPERATORS_PER_TAG`] operators
/// (separators and brackets of literals do not nest, and do not count).
fn check_chain_lengths(text: &str, spans: &[TagSpan]) -> Result<(), SourceError> {
    for span in spans {
        let operators = span
            .tokens
            .iter()
            .filter(|t| {
                (t.kind == Kind::Op && !matches!(t.text, "," | ":" | "=")) || t.is_keyword()
            })
            .count();
        if operators > MAX_OPERATORS_PER_TAG {
            return Err(SourceError {
                line: line_of(text, span.start),
                message: format!(
                    "one tag holds {operators} operators, more than {MAX_OPERATORS_PER_TAG} \
                     (Jinja2 itself fails with a RecursionError near a thousand): split it"
                ),
            });
        }
    }
    Ok(())
}

/// One `{{ }}` or `{% %}` tag: where its inside starts and ends, and its
/// tokens (offsets in the whole text).
struct TagSpan<'a> {
    start: usize,
    end: usize,
    tokens: Vec<Token<'a>>,
}

/// Every `{{ }}` and `{% %}` tag, in order, and the offset of the `%}` of
/// each `{% raw %}` that ends without `-` or `+`.
fn tags(text: &str) -> (Vec<TagSpan<'_>>, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut raw_ends = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find('{') {
        let start = at + found;
        let end_marker = match bytes.get(start + 1) {
            Some(b'#') => {
                at = text[start + 2..]
                    .find("#}")
                    .map_or(text.len(), |end| start + 2 + end + 2);
                continue;
            }
            Some(b'%') if is_raw_start(&text[start + 2..]) => {
                let close = start + 2 + text[start + 2..].find("%}").unwrap_or(0);
                if !text[..close].ends_with(['-', '+']) {
                    raw_ends.push(close);
                }
                at = raw_end(text, start + 2);
                continue;
            }
            Some(b'%') => "%}",
            Some(b'{') => "}}",
            _ => {
                at = start + 1;
                continue;
            }
        };
        let (tokens, end, after) = lex(text, start + 2, Some(end_marker));
        out.push(TagSpan {
            start: start + 2,
            end,
            tokens,
        });
        at = after;
    }
    (out, raw_ends)
}

/// `{% raw %}`, with optional `-`/`+` and spaces.
fn is_raw_start(rest: &str) -> bool {
    let rest = rest.trim_start_matches(['-', '+']).trim_start();
    rest.strip_prefix("raw").is_some_and(|after| {
        after
            .trim_start()
            .trim_start_matches(['-', '+'])
            .starts_with("%}")
    })
}

/// The offset after the `{% endraw %}` closing a raw block opened at `from`.
fn raw_end(text: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(found) = text[at..].find("{%") {
        let tag = at + found + 2;
        let rest = text[tag..].trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = rest.strip_prefix("endraw") {
            let after = after.trim_start().trim_start_matches(['-', '+']);
            if after.starts_with("%}") {
                let end_offset = text.len() - after.len() + 2;
                return end_offset;
            }
        }
        at = tag;
    }
    text.len()
}

/// The tokens from `from` up to `end` at depth 0 (or to the end of the
/// text), where the inside ends and where the tag ends.
fn lex<'a>(text: &'a str, from: usize, end: Option<&str>) -> (Vec<Token<'a>>, usize, usize) {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        let rest = &text[i..];
        if let (0, Some(end)) = (depth, end) {
            let marker = rest.trim_start_matches(['-', '+']);
            if marker.starts_with(end) && rest.len() - marker.len() <= 1 {
                return (tokens, i, i + (rest.len() - marker.len()) + end.len());
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        let (kind, len) = if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        } else if c == '\'' || c == '"' {
            (Kind::Str, string_len(rest))
        } else if c.is_ascii_digit() {
            let after_dot = i > 0 && bytes[i - 1] == b'.';
            (Kind::Number, number_len(rest, after_dot))
        } else if c == '_' || c.is_alphabetic() {
            // ASCII names read byte by byte; one that reaches a non-ASCII
            // character is read again char by char.
            let ascii = rest
                .bytes()
                .position(|b| !(b == b'_' || b.is_ascii_alphanumeric()));
            let len = match ascii {
                Some(at) if bytes[i + at].is_ascii() => at,
                None => rest.len(),
                Some(_) => rest
                    .char_indices()
                    .find(|&(_, c)| !(c == '_' || c.is_alphanumeric()))
                    .map_or(rest.len(), |(at, _)| at),
            };
            (Kind::Name, len)
        } else if matches!(c, '(' | '[' | '{') {
            (Kind::Open, 1)
        } else if matches!(c, ')' | ']' | '}') {
            (Kind::Close, 1)
        } else {
            let two = ["**", "//", "==", "!=", ">=", "<="];
            let len = if two.iter().any(|op| rest.starts_with(op)) {
                2
            } else {
                c.len_utf8()
            };
            (Kind::Op, len)
        };
        if kind == Kind::Close {
            depth = depth.saturating_sub(1);
        }
        tokens.push(Token {
            kind: kind.clone(),
            start: i,
            end: i + len,
            depth,
            text: &rest[..len],
        });
        if kind == Kind::Open {
            depth += 1;
        }
        i += len;
    }
    (tokens, bytes.len(), bytes.len())
}

/// A quoted string with backslash escapes (Jinja2's string rule).
fn string_len(rest: &str) -> usize {
    let quote = rest.as_bytes()[0];
    let mut i = 1;
    let bytes = rest.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    rest.len()
}

/// Jinja2's number rules: a float (`(\d+_)*\d+` then a fraction and/or an
/// exponent; not right after a `.`), else an integer (`0b..`, `0o..`,
/// `0x..`, `[1-9](_?\d)*` or `0(_?0)*`).
fn number_len(rest: &str, after_dot: bool) -> usize {
    let bytes = rest.as_bytes();
    let digits = |from: usize| -> usize {
        // (\d+_)*\d+ : digits with single underscores between them.
        let mut i = from;
        let mut last_digit = from;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                i += 1;
                last_digit = i;
            } else if bytes[i] == b'_' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() {
                i += 1;
            } else {
                break;
            }
        }
        last_digit
    };
    if !after_dot {
        let whole = digits(0);
        let mut end = whole;
        let mut is_float = false;
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1);
            is_float = true;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(bytes.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            if bytes.get(exp).is_some_and(u8::is_ascii_digit) {
                end = digits(exp);
                is_float = true;
            }
        }
        if is_float {
            return end;
        }
    }
    let radix_digits = |ok: fn(u8) -> bool| -> usize {
        // 0b(_?[01])+ and friends.
        let mut i = 2;
        while i < bytes.len() {
            if ok(bytes[i]) {
                i += 1;
            } else if bytes[i] == b'_' && i + 1 < bytes.len() && ok(bytes[i + 1]) {
                i += 2;
            } else {
                break;
            }
        }
        i
    };
    match (bytes[0], bytes.get(1).map(u8::to_ascii_lowercase)) {
        (b'0', Some(b'b'))
            if bytes
                .get(2)
                .is_some_and(|b| matches!(b, b'0' | b'1' | b'_')) =>
        {
            radix_digits(|b| matches!(b, b'0' | b'1'))
        }
        (b'0', Some(b'o'))
            if bytes
                .get(2)
                .is_some_and(|b| matches!(b, b'0'..=b'7' | b'_')) =>
        {
            radix_digits(|b| matches!(b, b'0'..=b'7'))
        }
        (b'0', Some(b'x'))
            if bytes
                .get(2)
                .is_some_and(|b| b.is_ascii_hexdigit() || *b == b'_') =>
        {
            radix_digits(|b| b.is_ascii_hexdigit())
        }
        (b'0', _) => {
            // 0(_?0)* and then whatever digits follow, which Jinja2 reads as
            // the next number: kept in this token so the check can name it.
            let mut i = 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            i
        }
        _ => digits(0),
    }
}

/// `L % R` becomes `__py_percent(L, R)` for the `%` at `tokens[index]`, or
/// `None` when the operands are not where Jinja2's grammar puts them.
fn rewrite_percent(text: &str, tokens: &[Token], index: usize) -> Option<String> {
    let depth = tokens[index].depth;
    let left = left_operand_start(tokens, index, depth)?;
    let right = right_operand_end(tokens, index + 1, depth)?;
    let left_text = &text[tokens[left].start..tokens[index].start];
    let right_text = &text[tokens[index + 1].start..tokens[right].end];
    Some(format!(
        "{}{PERCENT_FUNCTION}({}, {}){}",
        &text[..tokens[left].start],
        left_text.trim_end(),
        right_text,
        &text[tokens[right].end..]
    ))
}

/// `A ~ B ~ C` becomes `__py_concat(A, B, C)` for the chain holding the
/// `~` at `tokens[index]` (its first `~`: chains are rewritten leftmost
/// first).
fn rewrite_concat(text: &str, tokens: &[Token], index: usize) -> Option<String> {
    let depth = tokens[index].depth;
    let first = concat_operand_start(tokens, index, depth)?;
    let mut operands = vec![(first, index - 1)];
    let mut at = index;
    loop {
        let end = concat_operand_end(tokens, at + 1, depth)?;
        operands.push((at + 1, end));
        match tokens.get(end + 1) {
            Some(t) if t.is_op("~") && t.depth == depth => at = end + 1,
            _ => break,
        }
    }
    let parts: Vec<&str> = operands
        .iter()
        .map(|&(from, to)| text[tokens[from].start..tokens[to].end].trim())
        .collect();
    let (start, end) = (tokens[first].start, tokens[operands.last()?.1].end);
    Some(format!(
        "{}{CONCAT_FUNCTION}({}){}",
        &text[..start],
        parts.join(", "),
        &text[end..]
    ))
}

/// Whether the token at `i` ends an operand of `~`: an operator of lower
/// precedence, a keyword or a separator at the chain's depth.
fn ends_concat_operand(tokens: &[Token], i: usize, depth: usize) -> bool {
    let token = &tokens[i];
    if token.depth != depth {
        return token.depth < depth;
    }
    match token.kind {
        Kind::Name if token.is_name("not") => !(i >= 1 && tokens[i - 1].is_name("is")),
        Kind::Name => token.is_keyword() && !token.is_name("is"),
        Kind::Op => match token.text {
            "*" | "/" | "//" | "%" | "**" | "|" | "." => false,
            "-" | "+" => i >= 1 && tokens[i - 1].ends_operand() && tokens[i - 1].depth == depth,
            _ => true,
        },
        _ => false,
    }
}

fn concat_operand_start(tokens: &[Token], index: usize, depth: usize) -> Option<usize> {
    let mut i = index;
    while i > 0 && !ends_concat_operand(tokens, i - 1, depth) {
        i -= 1;
    }
    (i < index).then_some(i)
}

fn concat_operand_end(tokens: &[Token], from: usize, depth: usize) -> Option<usize> {
    let mut i = from;
    while i < tokens.len()
        && !ends_concat_operand(tokens, i, depth)
        && !(tokens[i].is_op("~") && tokens[i].depth == depth)
    {
        i += 1;
    }
    (i > from).then_some(i - 1)
}

/// The first token of the `%`'s left operand: the chain of `*`, `/`, `//`
/// and `%` operands before it, back to an operator of lower precedence, a
/// keyword, a separator or the enclosing bracket.
fn left_operand_start(tokens: &[Token], index: usize, depth: usize) -> Option<usize> {
    let mut i = index;
    let mut start = None;
    while i > 0 {
        let token = &tokens[i - 1];
        if token.depth > depth {
            i -= 1;
            continue;
        }
        if token.depth < depth {
            break;
        }
        let part_of_operand = match token.kind {
            Kind::Name if token.is_name("is") => true,
            Kind::Name if token.is_name("not") => i >= 2 && tokens[i - 2].is_name("is"),
            Kind::Name => !token.is_keyword(),
            // A bracket at this depth opens a group whose end was passed.
            Kind::Number | Kind::Str | Kind::Close | Kind::Open => true,
            Kind::Op => match token.text {
                "*" | "/" | "//" | "%" | "**" | "|" | "." => true,
                "-" | "+" => i < 2 || !tokens[i - 2].ends_operand() || tokens[i - 2].depth < depth,
                _ => false,
            },
        };
        if !part_of_operand {
            break;
        }
        i -= 1;
        start = Some(i);
    }
    let start = start?;
    // The operand must end in something that ends an operand.
    tokens[index - 1]
        .ends_operand()
        .then_some(start)
        .filter(|_| !tokens[start].is_op("|") && !tokens[start].is_op("."))
}

/// The last token of the `%`'s right operand: a unary expression (signs, a
/// primary, attributes, subscripts, calls, filters and tests) and any `**`
/// chain after it.
fn right_operand_end(tokens: &[Token], from: usize, depth: usize) -> Option<usize> {
    let mut i = from;
    let mut end = unary_end(tokens, &mut i, depth)?;
    while tokens
        .get(i)
        .is_some_and(|t| t.is_op("**") && t.depth == depth)
    {
        i += 1;
        end = unary_end(tokens, &mut i, depth)?;
    }
    Some(end)
}

fn unary_end(tokens: &[Token], i: &mut usize, depth: usize) -> Option<usize> {
    while tokens
        .get(*i)
        .is_some_and(|t| (t.is_op("-") || t.is_op("+")) && t.depth == depth)
    {
        *i += 1;
    }
    let mut end = primary_end(tokens, i, depth)?;
    end = postfix_end(tokens, i, depth, end);
    while let Some(token) = tokens.get(*i).filter(|t| t.depth == depth) {
        if token.is_op("|") {
            tokens.get(*i + 1).filter(|t| t.kind == Kind::Name)?;
            *i += 2;
            end = *i - 1;
            if tokens
                .get(*i)
                .is_some_and(|t| t.kind == Kind::Open && t.text == "(")
            {
                end = group_end(tokens, *i)?;
                *i = end + 1;
            }
        } else if token.is_name("is") {
            *i += 1;
            if tokens.get(*i).is_some_and(|t| t.is_name("not")) {
                *i += 1;
            }
            tokens.get(*i).filter(|t| t.kind == Kind::Name)?;
            *i += 1;
            end = *i - 1;
            match tokens.get(*i) {
                Some(t) if t.kind == Kind::Open && t.text == "(" => {
                    end = group_end(tokens, *i)?;
                    *i = end + 1;
                }
                Some(t) if t.starts_primary() && !t.is_name("is") => {
                    end = primary_end(tokens, i, depth)?;
                    end = postfix_end(tokens, i, depth, end);
                }
                _ => {}
            }
        } else if token.kind == Kind::Open && token.text == "(" {
            end = group_end(tokens, *i)?;
            *i = end + 1;
        } else {
            break;
        }
    }
    Some(end)
}

fn primary_end(tokens: &[Token], i: &mut usize, depth: usize) -> Option<usize> {
    let token = tokens.get(*i).filter(|t| t.depth == depth)?;
    match token.kind {
        Kind::Open => {
            let end = group_end(tokens, *i)?;
            *i = end + 1;
            Some(end)
        }
        Kind::Str => {
            // Adjacent string literals are one string in Jinja2.
            while tokens.get(*i + 1).is_some_and(|t| t.kind == Kind::Str) {
                *i += 1;
            }
            *i += 1;
            Some(*i - 1)
        }
        Kind::Number => {
            *i += 1;
            Some(*i - 1)
        }
        Kind::Name if !token.is_keyword() => {
            *i += 1;
            Some(*i - 1)
        }
        _ => None,
    }
}

fn postfix_end(tokens: &[Token], i: &mut usize, depth: usize, mut end: usize) -> usize {
    while let Some(token) = tokens.get(*i).filter(|t| t.depth == depth) {
        if token.is_op(".")
            && tokens
                .get(*i + 1)
                .is_some_and(|t| matches!(t.kind, Kind::Name | Kind::Number))
        {
            *i += 2;
            end = *i - 1;
        } else if token.kind == Kind::Open && (token.text == "[" || token.text == "(") {
            match group_end(tokens, *i) {
                Some(close) => {
                    end = close;
                    *i = close + 1;
                }
                None => break,
            }
        } else {
            break;
        }
    }
    end
}

/// The index of the bracket closing the one at `open`.
fn group_end(tokens: &[Token], open: usize) -> Option<usize> {
    let depth = tokens[open].depth;
    (open + 1..tokens.len()).find(|&j| tokens[j].kind == Kind::Close && tokens[j].depth == depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(text: &str) -> String {
        prepare(text).unwrap()
    }

    #[test]
    fn percent_operands_follow_jinja2_precedence() {
        // Jinja2's parser: parse_math1 (+ -) > parse_concat (~) > parse_math2
        // (* / // %) > parse_pow (**) > parse_unary (signs, primary, postfix,
        // filters, tests).
        assert_eq!(
            rewritten("{{ '%s-x' % id }}"),
            "{{ __py_percent('%s-x', id) }}"
        );
        assert_eq!(
            rewritten("{{ a ~ '%s' % b ~ c }}"),
            "{{ __py_concat(a, __py_percent('%s', b), c) }}"
        );
        assert_eq!(rewritten("{{ a * b % c }}"), "{{ __py_percent(a * b, c) }}");
        assert_eq!(rewritten("{{ a + b % c }}"), "{{ a + __py_percent(b, c) }}");
        assert_eq!(rewritten("{{ -a % b }}"), "{{ __py_percent(-a, b) }}");
        assert_eq!(rewritten("{{ a - b % c }}"), "{{ a - __py_percent(b, c) }}");
        assert_eq!(
            rewritten("{{ a % b ** 2 }}"),
            "{{ __py_percent(a, b ** 2) }}"
        );
        assert_eq!(
            rewritten("{{ x.y['z'](1)|upper % v|lower|replace('a', 'b') }}"),
            "{{ __py_percent(x.y['z'](1)|upper, v|lower|replace('a', 'b')) }}"
        );
        assert_eq!(
            rewritten("{{ '%s %s' % (a, b) }}"),
            "{{ __py_percent('%s %s', (a, b)) }}"
        );
        assert_eq!(
            rewritten("{{ a % b % c }}"),
            "{{ __py_percent(__py_percent(a, b), c) }}"
        );
        assert_eq!(
            rewritten("{{ f('%d' % n, m) }}"),
            "{{ f(__py_percent('%d', n), m) }}"
        );
        assert_eq!(
            rewritten("{% set x = '%s' % y if c else z %}"),
            "{% set x = __py_percent('%s', y) if c else z %}"
        );
        assert_eq!(
            rewritten("{% for i in range(9) if i % 2 -%}"),
            "{% for i in range(9) if __py_percent(i, 2) -%}"
        );
        assert_eq!(
            rewritten("{{ {'k': a % b} }}"),
            "{{ {'k': __py_percent(a, b)} }}"
        );
    }

    #[test]
    fn concat_chains_follow_jinja2_precedence() {
        // parse_math1 (+ -) > parse_concat (~) > parse_math2 (* / // %).
        assert_eq!(rewritten("{{ 'a' ~ b }}"), "{{ __py_concat('a', b) }}");
        assert_eq!(
            rewritten("{{ a + b ~ c * d ~ -e|f - g }}"),
            "{{ a + __py_concat(b, c * d, -e|f) - g }}"
        );
        assert_eq!(
            rewritten("{% if x ~ y == 'z' and f(a ~ b) ~ c is defined %}"),
            "{% if __py_concat(x, y) == 'z' and __py_concat(f(__py_concat(a, b)), c is defined) %}"
        );
        assert_eq!(
            rewritten("{% set n = 'p-' ~ x if c else y %}"),
            "{% set n = __py_concat('p-', x) if c else y %}"
        );
    }

    #[test]
    fn names_are_lexed_whole_in_ascii_and_beyond() {
        let names = |text: &str| -> Vec<String> {
            let (tokens, _, _) = lex(text, 0, None);
            tokens
                .iter()
                .filter(|t| t.kind == Kind::Name)
                .map(|t| t.text.to_string())
                .collect()
        };
        assert_eq!(names("a_1 + _b2.c"), ["a_1", "_b2", "c"]);
        assert_eq!(names("naïve ~ x_é1 ~ été"), ["naïve", "x_é1", "été"]);
        assert_eq!(names("end"), ["end"]);
        // Line breaks: a `\r` is made `\n`; text without one is as it was.
        assert_eq!(prepare("a\r\nb\rc{{ x }}").unwrap(), "a\nb\nc{{ x }}");
        assert_eq!(prepare("a\nb{{ x }}").unwrap(), "a\nb{{ x }}");
    }

    #[test]
    fn text_comments_and_raw_blocks_are_left_alone() {
        let text = "100% {# a % b #}{% raw -%}{{ a % b }}{% endraw %} {{ '%}' }}\r\nx";
        assert_eq!(
            rewritten(text),
            "100% {# a % b #}{% raw -%}{{ a % b }}{% endraw %} {{ '%}' }}\nx"
        );
        // Jinja2 keeps the line break after `{% raw %}` (trim_blocks does not
        // apply to it): `{% raw +%}` tells minijinja the same.
        assert_eq!(
            rewritten("{% raw %}\nx{% endraw %}"),
            "{% raw +%}\nx{% endraw %}"
        );
    }

    #[test]
    fn string_literals_mean_what_python_unicode_escape_makes_of_them() {
        // Jinja2's lexer: value.encode("ascii", "backslashreplace").decode("unicode-escape").
        assert_eq!(
            rewritten(r"{{ 'a\tb\x41\101\v\/' }}"),
            r"{{ 'a\tbAA\u000b\\/' }}"
        );
        assert_eq!(
            rewritten(r"{{ '\U0001F600\u00e9' }}"),
            "{{ '\u{1F600}\u{e9}' }}"
        );
        assert_eq!(rewritten("{{ 'a\\\nb' }}"), "{{ 'a'\n'b' }}");
        assert_eq!(rewritten(r#"{{ "it's \"x\"" }}"#), r#"{{ 'it\'s "x"' }}"#);
        assert!(prepare(r"{{ '\N{BULLET}' }}")
            .unwrap_err()
            .message
            .contains("not supported"));
        assert!(prepare(r"{{ '\x4' }}").is_err());
    }

    #[test]
    fn a_leading_zero_is_a_syntax_error_as_in_jinja2() {
        // Jinja2's lexer: integer_re `0(_?0)*` matches the 0 of 0755, and
        // `{{ 0755 }}` then fails "expected token 'end of print statement',
        // got 'integer'".
        let err = prepare("a\n{{ 0755 }}").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("0755"), "{err:?}");
        assert!(prepare("{% set m = 0755 %}").is_err());
        for fine in [
            "{{ 0 }}",
            "{{ 00 }}",
            "{{ 0_0 }}",
            "{{ 0.5 }}",
            "{{ 007.5 }}",
            "{{ 0e5 }}",
            "{{ 0x1F }}",
            "{{ 0o17 }}",
            "{{ 0b101 }}",
            "{{ 1_000 }}",
            "{{ x.0 }}",
            "{{ '0755' }}",
            "0755 {# 0755 #}",
        ] {
            assert!(prepare(fine).is_ok(), "{fine}");
        }
    }
}
