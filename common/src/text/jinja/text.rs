//! Pure text functions of Python's standard library that Jinja2's filters
//! are built on: `int()` and `float()` of a string, `str.center`,
//! `str.zfill`, `str.split`/`rsplit`, `textwrap.wrap` (for `wordwrap`),
//! `html.unescape` and MarkupSafe's `striptags`, and `urllib.parse.quote`
//! (for `urlencode`). Each follows CPython 3.9 (managed-tenants-cli's
//! interpreter) to the character.

use super::html_entities::entity;
use super::python::{is_decimal, is_space, is_word, split_lines};
use super::unicode_tables::DECIMAL;

/// The value of a decimal digit: ASCII or any other Unicode decimal digit
/// (`int('٣')` is 3). Unicode keeps each script's digits 0..9 in a row.
fn digit_value(c: char) -> Option<u32> {
    if let Some(d) = c.to_digit(10) {
        return Some(d);
    }
    let code = c as u32;
    DECIMAL
        .ranges()
        .iter()
        .find(|&&(low, high)| (low..=high).contains(&code))
        .map(|&(low, _)| (code - low) % 10)
}

/// `s` with Python's `str.strip()` of white space.
pub(super) fn strip_space(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// Digits with single underscores between them (PEP 515), as ASCII digits.
fn digits_without_underscores(text: &str, radix: u32) -> Option<String> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|&c| c != '_') {
        let digit = if radix == 10 {
            digit_value(c)?
        } else {
            c.to_digit(radix)?
        };
        out.push(char::from_digit(digit, radix)?);
    }
    Some(out)
}

/// Python's `int(text, base)`; `None` where Python raises `ValueError` (or
/// where the value does not fit 128 bits).
pub(super) fn python_int(text: &str, base: u32) -> Option<i128> {
    let text = strip_space(text);
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let prefixed = |prefix: &str, radix: u32| {
        lower
            .strip_prefix(prefix)
            .map(|rest| (rest.strip_prefix('_').unwrap_or(rest), radix))
    };
    let (digits, radix) = match base {
        0 => prefixed("0x", 16)
            .or_else(|| prefixed("0o", 8))
            .or_else(|| prefixed("0b", 2))
            .or_else(|| {
                // Base 0 refuses a decimal with leading zeros, as literals do.
                let zeros_only = body.trim_start_matches(['0', '_']).is_empty();
                (!body.starts_with('0') || zeros_only).then_some((lower.as_str(), 10))
            })?,
        16 => prefixed("0x", 16).unwrap_or((lower.as_str(), 16)),
        8 => prefixed("0o", 8).unwrap_or((lower.as_str(), 8)),
        2 => prefixed("0b", 2).unwrap_or((lower.as_str(), 2)),
        3..=36 => (lower.as_str(), base),
        _ => return None,
    };
    let digits = if radix == 10 {
        // Non-ASCII decimals: take them from the original text.
        let start = body.len() - digits.len();
        digits_without_underscores(&body[start..], 10)?
    } else {
        digits_without_underscores(digits, radix)?
    };
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Python's `float(text)`: white space around, underscores between digits,
/// `inf`, `infinity` and `nan` in any case; `None` where Python raises.
pub(super) fn python_float(text: &str) -> Option<f64> {
    let text = strip_space(text);
    let (sign, body) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return format!("{sign}{lower}").parse().ok();
    }
    // mantissa [e exponent], each digit run with PEP 515 underscores.
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let run = |part: &str| -> Option<String> {
        if part.is_empty() {
            Some(String::new())
        } else {
            digits_without_underscores(part, 10)
        }
    };
    let whole = run(whole)?;
    let fraction = match fraction {
        Some(fraction) => Some(run(fraction)?),
        None => None,
    };
    if whole.is_empty() && fraction.as_deref().unwrap_or("").is_empty() {
        return None;
    }
    let mut normal = format!("{sign}{whole}");
    if let Some(fraction) = fraction {
        normal.push('.');
        normal.push_str(&fraction);
    }
    if let Some(exponent) = exponent {
        let (exp_sign, exp_digits) = match exponent.as_bytes().first() {
            Some(b'-') => ("-", &exponent[1..]),
            Some(b'+') => ("", &exponent[1..]),
            _ => ("", exponent),
        };
        normal.push('e');
        normal.push_str(exp_sign);
        normal.push_str(&digits_without_underscores(exp_digits, 10)?);
    }
    normal.parse().ok()
}

/// `str.center(width, fill)`: CPython puts the odd space on the left when
/// the width is odd (`left = margin / 2 + (margin & width & 1)`).
pub(super) fn center(text: &str, width: usize, fill: char) -> String {
    let len = text.chars().count();
    if width <= len {
        return text.to_string();
    }
    let margin = width - len;
    let left = margin / 2 + (margin & width & 1);
    let fill_text = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    format!("{}{text}{}", fill_text(left), fill_text(margin - left))
}

/// `str.zfill(width)`: zeros after the sign.
pub(super) fn zfill(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if width <= len {
        return text.to_string();
    }
    let zeros = "0".repeat(width - len);
    match text.chars().next() {
        Some(sign @ ('+' | '-')) => format!("{sign}{zeros}{}", &text[1..]),
        _ => format!("{zeros}{text}"),
    }
}

/// `str.split(sep, maxsplit)` (`reverse`: `str.rsplit`). Without a
/// separator, runs of white space split and the ends are dropped.
pub(super) fn split(
    text: &str,
    sep: Option<&str>,
    maxsplit: Option<usize>,
    reverse: bool,
) -> Vec<String> {
    let limit = maxsplit.unwrap_or(usize::MAX);
    match sep {
        Some(sep) => {
            let parts: Vec<String> = if reverse {
                let mut parts: Vec<String> = text
                    .rsplitn(limit.saturating_add(1), sep)
                    .map(String::from)
                    .collect();
                parts.reverse();
                parts
            } else {
                text.splitn(limit.saturating_add(1), sep)
                    .map(String::from)
                    .collect()
            };
            parts
        }
        None => split_whitespace(text, limit, reverse),
    }
}

fn split_whitespace(text: &str, limit: usize, reverse: bool) -> Vec<String> {
    let chars: Vec<char> = if reverse {
        text.chars().rev().collect()
    } else {
        text.chars().collect()
    };
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && is_space(chars[i]) {
            i += 1;
        }
        if i == chars.len() {
            break;
        }
        if parts.len() == limit {
            // The rest as it is, white space at its far end included.
            parts.push(chars[i..].iter().collect());
            break;
        }
        let start = i;
        while i < chars.len() && !is_space(chars[i]) {
            i += 1;
        }
        parts.push(chars[start..i].iter().collect());
    }
    if reverse {
        parts.reverse();
        for part in &mut parts {
            *part = part.chars().rev().collect();
        }
    }
    parts
}

/// `len(re.findall(r"\w+", text))`: Jinja2's `wordcount`.
pub(super) fn word_count(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in text.chars() {
        let word = is_word(c);
        if word && !in_word {
            count += 1;
        }
        in_word = word;
    }
    count
}

/// The white space of `textwrap` (ASCII only: `'\t\n\x0b\x0c\r '`).
fn is_wrap_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// `textwrap.wrap(text, width, expand_tabs=False, replace_whitespace=False,
/// break_long_words, break_on_hyphens)`, as Jinja2's `wordwrap` calls it.
pub(super) fn wrap(
    text: &str,
    width: usize,
    break_long_words: bool,
    break_on_hyphens: bool,
) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let chunks = if break_on_hyphens {
        hyphen_chunks(&chars)
    } else {
        space_chunks(&chars)
    };
    wrap_chunks(chunks, width, break_long_words)
}

/// `wordsep_simple_re.split`: runs of white space and runs of anything else.
fn space_chunks(chars: &[char]) -> Vec<Vec<char>> {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    for &c in chars {
        match chunks.last_mut() {
            Some(last) if is_wrap_space(last[0]) == is_wrap_space(c) => last.push(c),
            _ => chunks.push(vec![c]),
        }
    }
    chunks
}

/// `TextWrapper.wordsep_re.split`: white space runs, em-dashes between
/// words, and words that may break after a hyphen between letters
/// (`goof-` `ball`), as the regular expression of CPython 3.9 matches them.
fn hyphen_chunks(chars: &[char]) -> Vec<Vec<char>> {
    let at =
        |i: isize| -> Option<char> { (i >= 0).then(|| chars.get(i as usize).copied()).flatten() };
    let letter = |i: isize| at(i).is_some_and(|c| is_word(c) && !is_decimal(c));
    let word_punct = |i: isize| at(i).is_some_and(|c| is_word(c) || "!\"'&.,?".contains(c));
    let word = |i: isize| at(i).is_some_and(is_word);
    let nonspace = |i: isize| at(i).is_some_and(|c| !is_wrap_space(c));
    // -{2,}(?=\w) at i: the end of the dash run, if a word character follows.
    let em_dash_end = |i: isize| -> Option<isize> {
        let mut j = i;
        while at(j) == Some('-') {
            j += 1;
        }
        (j - i >= 2 && word(j)).then_some(j)
    };
    let n = chars.len() as isize;
    let mut chunks = Vec::new();
    let mut i: isize = 0;
    while i < n {
        let end = if is_wrap_space(chars[i as usize]) {
            let mut j = i;
            while j < n && is_wrap_space(chars[j as usize]) {
                j += 1;
            }
            j
        } else if let Some(j) = (at(i) == Some('-') && word_punct(i - 1))
            .then(|| em_dash_end(i))
            .flatten()
        {
            j
        } else {
            // \S+? then: a hyphen between letters, the end of the word, or
            // an em-dash after word punctuation.
            let mut k = i + 1;
            loop {
                let hyphen = at(k) == Some('-')
                    && ((letter(k - 2) && letter(k - 1))
                        || (letter(k - 3) && at(k - 2) == Some('-') && letter(k - 1)))
                    && letter(k + 1)
                    && (letter(k + 2) || (at(k + 2) == Some('-') && letter(k + 3)));
                if hyphen {
                    break k + 1;
                }
                if k == n || is_wrap_space(chars[k as usize]) {
                    break k;
                }
                if word_punct(k - 1) && at(k) == Some('-') && em_dash_end(k).is_some() {
                    break k;
                }
                if !nonspace(k) {
                    break k;
                }
                k += 1;
            }
        };
        chunks.push(chars[i as usize..end as usize].to_vec());
        i = end;
    }
    chunks
}

/// `TextWrapper._wrap_chunks` with no indents, `drop_whitespace` and no
/// line limit.
fn wrap_chunks(mut chunks: Vec<Vec<char>>, width: usize, break_long_words: bool) -> Vec<String> {
    let blank = |chunk: &[char]| chunk.iter().all(|&c| is_space(c));
    let mut lines: Vec<String> = Vec::new();
    chunks.reverse();
    while !chunks.is_empty() {
        let mut line: Vec<Vec<char>> = Vec::new();
        let mut len = 0;
        if !lines.is_empty() && chunks.last().is_some_and(|c| blank(c)) {
            chunks.pop();
        }
        while let Some(chunk) = chunks.last() {
            if len + chunk.len() <= width {
                len += chunk.len();
                line.push(chunks.pop().expect("present"));
            } else {
                break;
            }
        }
        if chunks.last().is_some_and(|c| c.len() > width) {
            // _handle_long_word
            let space_left = if width < 1 { 1 } else { width - len };
            if break_long_words {
                let last = chunks.last_mut().expect("present");
                let rest = last.split_off(space_left.min(last.len()));
                let head = std::mem::replace(last, rest);
                line.push(head);
            } else if line.is_empty() {
                line.push(chunks.pop().expect("present"));
            }
        }
        if line.last().is_some_and(|c| blank(c)) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.concat().into_iter().collect());
        }
    }
    lines
}

/// Jinja2's `wordwrap`: each line of the text wrapped on its own, joined
/// with `wrapstring`.
pub(super) fn word_wrap(
    text: &str,
    width: usize,
    break_long_words: bool,
    wrapstring: &str,
    break_on_hyphens: bool,
) -> String {
    split_lines(text)
        .into_iter()
        .map(|line| wrap(line, width, break_long_words, break_on_hyphens).join(wrapstring))
        .collect::<Vec<_>>()
        .join(wrapstring)
}

/// MarkupSafe 2.0's `Markup.striptags`: comments (`<!--.*?-->`, on one line)
/// and tags (`<[^>]*>`) removed, white space runs made one space, then
/// `html.unescape`.
pub(super) fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let comment_end = tail
            .strip_prefix("<!--")
            .and_then(|body| body.find("-->").filter(|&end| !body[..end].contains('\n')))
            .map(|end| 4 + end + 3);
        match comment_end.or_else(|| tail.find('>').map(|end| end + 1)) {
            Some(end) => rest = &tail[end..],
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    let collapsed = out
        .split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    html_unescape(&collapsed)
}

/// Python's `html.unescape`.
pub(super) fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match char_reference(after) {
            Some((consumed, replacement)) => {
                out.push_str(&replacement);
                rest = &after[consumed..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The reference after an `&`: how many bytes it takes and its text.
fn char_reference(after: &str) -> Option<(usize, String)> {
    if let Some(body) = after.strip_prefix('#') {
        let (hex, digits_from) = match body.as_bytes().first() {
            Some(b'x' | b'X') => (true, 1),
            _ => (false, 0),
        };
        let digits: String = body[digits_from..]
            .chars()
            .take_while(|c| {
                if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            })
            .collect();
        if digits.is_empty() {
            return None;
        }
        let mut consumed = 1 + digits_from + digits.len();
        if body[digits_from + digits.len()..].starts_with(';') {
            consumed += 1;
        }
        let number = u64::from_str_radix(&digits, if hex { 16 } else { 10 }).unwrap_or(u64::MAX);
        return Some((consumed, numeric_reference(number)));
    }
    // [^\t\n\f <&#;]{1,32};?
    let name: String = after
        .chars()
        .take_while(|c| !matches!(c, '\t' | '\n' | '\u{c}' | ' ' | '<' | '&' | '#' | ';'))
        .take(32)
        .collect();
    if name.is_empty() {
        return None;
    }
    let with_semicolon = after[name.len()..].starts_with(';');
    let full = if with_semicolon {
        format!("{name};")
    } else {
        name.clone()
    };
    if let Some(text) = entity(&full) {
        return Some((full.len(), text.to_string()));
    }
    // The longest known prefix (the legacy names work without `;`).
    let chars: Vec<char> = full.chars().collect();
    for len in (2..chars.len()).rev() {
        let prefix: String = chars[..len].iter().collect();
        if let Some(text) = entity(&prefix) {
            let tail: String = chars[len..].iter().collect();
            return Some((full.len(), format!("{text}{tail}")));
        }
    }
    Some((full.len(), format!("&{full}")))
}

/// `&#NNN;`: Windows-1252 for 0x80..0x9F, U+FFFD for what is not a
/// character, nothing for the code points HTML forbids.
fn numeric_reference(number: u64) -> String {
    const CP1252: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}',
        '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}',
        '\u{178}',
    ];
    match number {
        0 => "\u{fffd}".into(),
        0x0d => "\r".into(),
        0x80..=0x9f => CP1252[(number - 0x80) as usize].to_string(),
        0xd800..=0xdfff => "\u{fffd}".into(),
        n if n > 0x10ffff => "\u{fffd}".into(),
        0x1..=0x8 | 0xb | 0xe..=0x1f | 0x7f | 0xfdd0..=0xfdef => String::new(),
        n if n & 0xfffe == 0xfffe => String::new(),
        n => char::from_u32(n as u32)
            .map(String::from)
            .unwrap_or_default(),
    }
}

/// `urllib.parse.quote(text, safe)` over UTF-8: letters, digits and `_.-~`
/// stay, and so do the characters in `safe`; everything else is `%XX`.
pub(super) fn url_quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"_.-~".contains(&byte)
            || safe.as_bytes().contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The expected values are what CPython 3.9 returns for the same call.
    #[test]
    fn int_and_float_of_text() {
        assert_eq!(python_int(" 12 ", 10), Some(12));
        assert_eq!(python_int("1_000", 10), Some(1000));
        assert_eq!(python_int("-٣", 10), Some(-3));
        assert_eq!(python_int("1__0", 10), None);
        assert_eq!(python_int("abc", 10), None);
        assert_eq!(python_int("3.7", 10), None);
        assert_eq!(python_int("0x1A", 16), Some(26));
        assert_eq!(python_int("ff", 16), Some(255));
        assert_eq!(python_int("0o17", 0), Some(15));
        assert_eq!(python_int("017", 0), None);
        assert_eq!(python_int("000", 0), Some(0));
        assert_eq!(python_float(" 3.7 "), Some(3.7));
        assert_eq!(python_float("1_0.5e1_0"), Some(10.5e10));
        assert_eq!(python_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(python_float("nan").unwrap().is_nan());
        assert_eq!(python_float(".5"), Some(0.5));
        assert_eq!(python_float("5."), Some(5.0));
        assert_eq!(python_float("."), None);
        assert_eq!(python_float("1e"), None);
        assert_eq!(python_float("abc"), None);
    }

    #[test]
    fn center_zfill_and_split() {
        // 'ab'.center(5) == '  ab ', 'ab'.center(6) == '  ab  ', 'abc'.center(6) == ' abc  '
        assert_eq!(center("ab", 5, ' '), "  ab ");
        assert_eq!(center("ab", 6, ' '), "  ab  ");
        assert_eq!(center("abc", 6, ' '), " abc  ");
        assert_eq!(center("a", 4, '*'), "*a**");
        assert_eq!(zfill("-5", 4), "-005");
        assert_eq!(zfill("+5", 3), "+05");
        assert_eq!(zfill("5", 0), "5");
        assert_eq!(split("a b  c", None, Some(1), true), ["a b", "c"]);
        assert_eq!(split(" a b ", None, None, true), ["a", "b"]);
        assert_eq!(split("a,b,c", Some(","), Some(1), true), ["a,b", "c"]);
        assert_eq!(split("a,,b", Some(","), None, true), ["a", "", "b"]);
        // '  a b c  '.split(None, 1) == ['a', 'b c  ']; .rsplit(None, 1) == ['  a b', 'c']
        assert_eq!(split("  a b c  ", None, Some(1), false), ["a", "b c  "]);
        assert_eq!(split("  a b c  ", None, Some(1), true), ["  a b", "c"]);
    }

    #[test]
    fn textwrap_wraps_as_python_does() {
        // textwrap.wrap("Hello there -- you goof-ball, use the -b option!", 10)
        assert_eq!(
            wrap(
                "Hello there -- you goof-ball, use the -b option!",
                10,
                true,
                true
            ),
            [
                "Hello",
                "there --",
                "you goof-",
                "ball, use",
                "the -b",
                "option!"
            ]
        );
        assert_eq!(
            wrap(
                "Hello there -- you goof-ball, use the -b option!",
                10,
                true,
                false
            ),
            [
                "Hello",
                "there --",
                "you",
                "goof-ball,",
                "use the -b",
                "option!"
            ]
        );
        // textwrap.wrap("abcdefghijkl mn", 5) / break_long_words=False
        assert_eq!(
            wrap("abcdefghijkl mn", 5, true, true),
            ["abcde", "fghij", "kl mn"]
        );
        assert_eq!(
            wrap("abcdefghijkl mn", 5, false, true),
            ["abcdefghijkl", "mn"]
        );
        assert_eq!(wrap("a--b c", 3, true, true), ["a--", "b c"]);
        assert_eq!(
            word_wrap("aaa bbb ccc\n\nddd", 5, true, "\n", true),
            "aaa\nbbb\nccc\n\nddd"
        );
    }

    #[test]
    fn striptags_and_unescape() {
        // Markup('<b>a</b>  <!-- c -->\n b &amp; &lt;x&gt; &copy &#65;&#x42; &#150; &bogus;').striptags()
        assert_eq!(
            strip_tags("<b>a</b>  <!-- c -->\n b &amp; &lt;x&gt; &copy &#65;&#x42; &#150; &bogus;"),
            "a b & <x> \u{a9} AB \u{2013} &bogus;"
        );
        // html.unescape('&notit; &ampx 5 < 6') == '¬it; &x 5 < 6'
        assert_eq!(html_unescape("&notit; &ampx 5 < 6"), "\u{ac}it; &x 5 < 6");
        assert_eq!(strip_tags("a < b"), "a < b");
    }

    #[test]
    fn quote_and_count() {
        // urllib.parse.quote('a b/c&é', safe='/') == 'a%20b/c%26%C3%A9'
        assert_eq!(url_quote("a b/c&é", "/"), "a%20b/c%26%C3%A9");
        assert_eq!(url_quote("a/b", ""), "a%2Fb");
        assert_eq!(word_count("Hello world, it's x_1 ٣"), 6);
    }
}
