//! PowerShell's wildcard patterns (`*`, `?`, `[abc]`, `[a-z]`, backtick escapes), case-insensitive,
//! as the session cmdlets' -Name parameters take them (about_Wildcards). The one place that reads them.

use crate::error::{Error, ErrorKind, Result};

/// True when `value` has unescaped PowerShell wildcard characters (`*`, `?`, `[`, `]`).
pub fn has_wildcards(value: &str) -> bool {
    let mut escaped = false;
    for c in value.chars() {
        match c {
            '`' if !escaped => escaped = true,
            '*' | '?' | '[' | ']' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

/// Translates a PowerShell wildcard pattern (`*`, `?`, `[abc]`, `[a-z]`, backtick escapes) into an
/// anchored, case-insensitive regular expression. Errors: InvalidArgument for an unclosed `[`.
pub fn wildcard_regex(pattern: &str) -> Result<regex::Regex> {
    let mut re = String::from("(?is)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                if let Some(next) = chars.next() {
                    re.push_str(&regex::escape(&next.to_string()));
                }
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut class = String::from("[");
                let mut closed = false;
                for inner in chars.by_ref() {
                    match inner {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '-' => class.push('-'),
                        other => class.push_str(&regex::escape(&other.to_string())),
                    }
                }
                if !closed {
                    return Err(Error::new(ErrorKind::InvalidArgument, format!("The wildcard pattern '{pattern}' is not valid: '[' is not closed")));
                }
                class.push(']');
                re.push_str(&class);
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The wildcard pattern '{pattern}' is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(has_wildcards("a*"));
        assert!(!has_wildcards("a`*"));
        let re = wildcard_regex("a`*b?[x-z]").unwrap();
        assert!(re.is_match("A*bQy"));
        assert!(!re.is_match("aXbQy"));
    }
}
