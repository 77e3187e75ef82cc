//! CIM values from their text forms: what servers send as element text and what the C ABI and WQL
//! take (decimal integers, booleans, reals, char16, datetimes in every form [`super::datetime`] reads,
//! object paths for references).

use super::datetime;
use super::{CimType, CimValue};
use crate::error::{Error, ErrorKind, Result};

/// The error for `text` that is no valid `what` (e.g. `uint32`) for property `name`.
pub fn bad_value(name: &str, text: &str, what: &str) -> Error {
    Error::new(ErrorKind::BadReply, format!("The server sent '{text}' for property '{name}', which is not a valid {what}"))
}

/// A scalar of type `t` from its text form (as the wire and the C ABI write it: decimal integers,
/// `true`/`false`/`TRUE`/`1`, reals, char16 as a code unit or the character, datetimes in DMTF,
/// xs:dateTime or xs:duration form, references as object-path text). `name` is for the error.
/// Errors: BadReply when the text is not a value of that type.
pub fn value_of_text(t: CimType, text: &str, name: &str) -> Result<CimValue> {
    let bad = |what: &str| bad_value(name, text, what);
    let text = text.trim();
    Ok(match t {
        CimType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "1" => CimValue::Boolean(true),
            "false" | "0" => CimValue::Boolean(false),
            _ => return Err(bad("boolean")),
        },
        CimType::UInt8 => CimValue::UInt8(text.parse().map_err(|_| bad("uint8"))?),
        CimType::SInt8 => CimValue::SInt8(text.parse().map_err(|_| bad("sint8"))?),
        CimType::UInt16 => CimValue::UInt16(text.parse().map_err(|_| bad("uint16"))?),
        CimType::SInt16 => CimValue::SInt16(text.parse().map_err(|_| bad("sint16"))?),
        CimType::UInt32 => CimValue::UInt32(text.parse().map_err(|_| bad("uint32"))?),
        CimType::SInt32 => CimValue::SInt32(text.parse().map_err(|_| bad("sint32"))?),
        CimType::UInt64 => CimValue::UInt64(text.parse().map_err(|_| bad("uint64"))?),
        CimType::SInt64 => CimValue::SInt64(text.parse().map_err(|_| bad("sint64"))?),
        CimType::Real32 => CimValue::Real32(real(text).ok_or_else(|| bad("real32"))? as f32),
        CimType::Real64 => CimValue::Real64(real(text).ok_or_else(|| bad("real64"))?),
        CimType::Char16 => CimValue::Char16(char16(text).ok_or_else(|| bad("char16"))?),
        CimType::DateTime => CimValue::DateTime(datetime::parse(text).ok_or_else(|| bad("datetime"))?),
        CimType::Reference => {
            object_path(text)?;
            CimValue::Reference(text.to_string())
        }
        _ => CimValue::String(text.to_string()),
    })
}

/// xs:double text, including `INF`, `-INF` and `NaN`.
fn real(text: &str) -> Option<f64> {
    match text {
        "INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// A char16: OMI and WinRM send the UTF-16 code unit as a decimal number; a single non-digit
/// character is taken as itself.
fn char16(text: &str) -> Option<char> {
    if let Ok(n) = text.parse::<u16>() {
        return char::from_u32(u32::from(n));
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Reads an object path as WS-Management references are written for CIM callers (`[namespace:]Class[.Key="v",Key2=7]`, values
/// quoted with `\\` and `\"` escapes, or bare) into (namespace, class, keys), the parts of an EPR.
/// Errors: InvalidArgument for text that is no object path.
pub fn object_path(text: &str) -> Result<(Option<String>, String, Vec<(String, String)>)> {
    let bad = || Error::new(ErrorKind::InvalidArgument, format!("'{text}' is not a CIM object path (Class.Key=\"value\")"));
    let (head, keys_text) = match text.find('.') {
        Some(dot) if !text[..dot].contains('=') => (&text[..dot], Some(&text[dot + 1..])),
        _ => (text, None),
    };
    let (namespace, class) = match head.rfind(':') {
        Some(colon) => (Some(head[..colon].to_string()), &head[colon + 1..]),
        None => (None, head),
    };
    if class.is_empty() || !class.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad());
    }
    let mut keys = Vec::new();
    let mut rest = keys_text.unwrap_or("").chars().peekable();
    while rest.peek().is_some() {
        let name: String = rest.by_ref().take_while(|c| *c != '=').collect();
        let mut value = String::new();
        if rest.peek() == Some(&'"') {
            rest.next();
            loop {
                match rest.next().ok_or_else(bad)? {
                    '\\' => value.push(rest.next().ok_or_else(bad)?),
                    '"' => break,
                    c => value.push(c),
                }
            }
            if !matches!(rest.next(), None | Some(',')) {
                return Err(bad());
            }
        } else {
            value = rest.by_ref().take_while(|c| *c != ',').collect();
        }
        if name.trim().is_empty() {
            return Err(bad());
        }
        keys.push((name.trim().to_string(), value));
    }
    Ok((namespace, class.to_string(), keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths_read_back_what_references_write() {
        assert_eq!(object_path(r#"root/cimv2:MSFT_President.Key="1",Name="a\"b\\c""#).unwrap(),
            (Some("root/cimv2".to_string()), "MSFT_President".to_string(), vec![("Key".to_string(), "1".to_string()), ("Name".to_string(), r#"a"b\c"#.to_string())]));
        assert_eq!(object_path("X_Y.N=7,M=8").unwrap().2, vec![("N".to_string(), "7".to_string()), ("M".to_string(), "8".to_string())]);
        assert_eq!(object_path("Singleton").unwrap(), (None, "Singleton".to_string(), vec![]));
        for bad in ["", "a b", r#"C.K="open"#, "C.=1", r#"C.K="x"y"#] {
            assert!(object_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn char16_is_a_code_unit() {
        assert_eq!(char16("33"), Some('!'));
        assert_eq!(char16("x"), Some('x'));
        assert_eq!(char16("xy"), None);
    }
}
