//! Facts about this machine that several classes share, and small readers of /proc-style files.

use std::fs;
use std::path::Path;

use crate::cim::{CimDateTime, CimValue};

/// Machine-wide facts read once per operation.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// /proc/sys/kernel/hostname.
    pub hostname: String,
    /// Boot time, seconds since the Unix epoch (/proc/stat `btime`).
    pub boot_time: i64,
    /// Clock ticks per second (sysconf `_SC_CLK_TCK`).
    pub clock_ticks: i64,
    /// Page size in bytes (sysconf `_SC_PAGESIZE`).
    pub page_size: u64,
    /// The local time zone's offset from UTC now, in minutes east.
    pub utc_offset_minutes: i16,
}

impl Machine {
    pub fn read() -> Machine {
        // SAFETY: sysconf has no preconditions.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        Machine {
            hostname: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".to_string()),
            boot_time: fs::read_to_string("/proc/stat").ok().and_then(|s| boot_time(&s)).unwrap_or(0),
            clock_ticks: if ticks > 0 { ticks as i64 } else { 100 },
            page_size: if page > 0 { page as u64 } else { 4096 },
            utc_offset_minutes: utc_offset_minutes(),
        }
    }

    /// A timestamp `unix_micros` shown in the local zone.
    pub fn datetime(&self, unix_micros: i64) -> CimValue {
        CimValue::DateTime(CimDateTime::Timestamp { unix_micros, utc_offset_minutes: self.utc_offset_minutes })
    }
}

/// The `btime` line of /proc/stat: boot time in seconds since the epoch.
pub(crate) fn boot_time(stat: &str) -> Option<i64> {
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The local zone's current UTC offset in minutes (localtime_r's tm_gmtoff).
fn utc_offset_minutes() -> i16 {
    // SAFETY: time and localtime_r write only to the locals passed.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return 0;
        }
        (tm.tm_gmtoff / 60) as i16
    }
}

/// A file's contents without surrounding whitespace; None if unreadable or empty.
pub(crate) fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The value of `key` in `KEY=value` text such as /etc/os-release (quotes removed).
pub(crate) fn key_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// The value of `key` in `Key:   value unit` text such as /proc/meminfo or /proc/<pid>/status: the first
/// word after the colon.
pub(crate) fn colon_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.split_whitespace().next().unwrap_or(""))
    })
}

/// A /proc/meminfo field in KiB.
pub(crate) fn meminfo_kb(meminfo: &str, key: &str) -> Option<u64> {
    colon_field(meminfo, key)?.parse().ok()
}

/// String value, or null when absent.
pub(crate) fn opt_string(value: Option<String>) -> CimValue {
    value.map_or(CimValue::Null, CimValue::String)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_values_and_fields() {
        let os = "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(key_value(os, "VERSION_ID").as_deref(), Some("12"));
        assert_eq!(key_value(os, "ID").as_deref(), Some("debian"));
        assert_eq!(key_value(os, "NOPE"), None);
        let mem = "MemTotal:       24608856 kB\nMemFree:        23000000 kB\n";
        assert_eq!(meminfo_kb(mem, "MemTotal"), Some(24_608_856));
        assert_eq!(boot_time("cpu 1 2 3\nbtime 1764030000\nprocesses 5\n"), Some(1_764_030_000));
    }
}

/// An instance with only properties; `local::read_class` fills in class, namespace and server.
pub(crate) fn instance(properties: Vec<crate::cim::CimProperty>) -> crate::cim::CimInstance {
    crate::cim::CimInstance { namespace: String::new(), class_name: String::new(), superclasses: Vec::new(), server_name: String::new(), properties }
}
