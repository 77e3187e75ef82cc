//! Win32_Process: one instance per /proc/<pid>. Sizes in bytes, CPU times in 100-ns units as Windows.

use std::fs;

use super::system::{colon_field, instance, Machine};
use crate::cim::class::{qualifier, MethodSchema, PropertySchema};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::{Error, ErrorKind, Result};

pub(super) const SUPERCLASSES: &[&str] = &["CIM_Process", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// The fields of /proc/<pid>/stat this class uses (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub comm: String,
    pub ppid: u32,
    pub session: u32,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    pub priority: i64,
    pub threads: u32,
    pub start_ticks: u64,
    pub vsize_bytes: u64,
    pub rss_pages: u64,
}

/// Parses /proc/<pid>/stat. The command name sits in parentheses and may itself hold spaces and
/// parentheses, so the fields are counted from the last ')'.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // f[0] = state (field 3), so field N is f[N - 3].
    let n = |field: usize| f.get(field - 3).and_then(|v| v.parse::<i64>().ok());
    Some(Stat {
        comm,
        ppid: n(4)? as u32,
        session: n(6)? as u32,
        utime_ticks: n(14)? as u64,
        stime_ticks: n(15)? as u64,
        priority: n(18)?,
        threads: n(20)? as u32,
        start_ticks: n(22)? as u64,
        vsize_bytes: n(23)? as u64,
        rss_pages: n(24)?.max(0) as u64,
    })
}

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    let os_name = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|r| super::system::key_value(&r, "PRETTY_NAME"))
        .unwrap_or_else(|| "Linux".to_string());
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    pids.sort_unstable();
    // A process that exits while being read is left out, not an error.
    Ok(pids.into_iter().filter_map(|pid| read_one(m, pid, &os_name)).collect())
}

fn read_one(m: &Machine, pid: u32, os_name: &str) -> Option<CimInstance> {
    let dir = format!("/proc/{pid}");
    let stat = parse_stat(&fs::read_to_string(format!("{dir}/stat")).ok()?)?;
    let status = fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let cmdline = fs::read(format!("{dir}/cmdline")).ok().map(|raw| {
        String::from_utf8_lossy(&raw).trim_end_matches('\0').replace('\0', " ")
    });
    let exe = fs::read_link(format!("{dir}/exe")).ok().map(|p| p.to_string_lossy().into_owned());
    let handles = fs::read_dir(format!("{dir}/fd")).ok().map(|d| d.count() as u32);
    let ticks = m.clock_ticks.max(1) as u64;
    let to_100ns = |t: u64| t * 10_000_000 / ticks;
    let created_micros = m.boot_time * 1_000_000 + (stat.start_ticks * 1_000_000 / ticks) as i64;
    let peak_kb = colon_field(&status, "VmPeak").and_then(|v| v.parse::<u64>().ok());
    let s = |v: &str| CimValue::String(v.to_string());
    Some(instance(vec![
        CimProperty::key("Handle", CimType::String, CimValue::String(pid.to_string())),
        CimProperty::new("Name", CimType::String, s(&stat.comm)),
        CimProperty::new("Caption", CimType::String, s(&stat.comm)),
        CimProperty::new("Description", CimType::String, s(&stat.comm)),
        CimProperty::new("ProcessId", CimType::UInt32, CimValue::UInt32(pid)),
        CimProperty::new("ParentProcessId", CimType::UInt32, CimValue::UInt32(stat.ppid)),
        CimProperty::new("ExecutablePath", CimType::String, exe.map_or(CimValue::Null, CimValue::String)),
        CimProperty::new("CommandLine", CimType::String, cmdline.filter(|c| !c.is_empty()).map_or(CimValue::Null, CimValue::String)),
        CimProperty::new("ThreadCount", CimType::UInt32, CimValue::UInt32(stat.threads)),
        CimProperty::new("HandleCount", CimType::UInt32, handles.map_or(CimValue::Null, CimValue::UInt32)),
        CimProperty::new("Priority", CimType::UInt32, CimValue::UInt32(stat.priority.clamp(0, i64::from(u32::MAX)) as u32)),
        CimProperty::new("SessionId", CimType::UInt32, CimValue::UInt32(stat.session)),
        CimProperty::new("WorkingSetSize", CimType::UInt64, CimValue::UInt64(stat.rss_pages * m.page_size)),
        CimProperty::new("VirtualSize", CimType::UInt64, CimValue::UInt64(stat.vsize_bytes)),
        CimProperty::new("PeakVirtualSize", CimType::UInt64, peak_kb.map_or(CimValue::Null, |kb| CimValue::UInt64(kb * 1024))),
        CimProperty::new("UserModeTime", CimType::UInt64, CimValue::UInt64(to_100ns(stat.utime_ticks))),
        CimProperty::new("KernelModeTime", CimType::UInt64, CimValue::UInt64(to_100ns(stat.stime_ticks))),
        CimProperty::new("CreationDate", CimType::DateTime, m.datetime(created_micros)),
        CimProperty::key("CreationClassName", CimType::String, s("Win32_Process")),
        CimProperty::key("CSCreationClassName", CimType::String, s("Win32_ComputerSystem")),
        CimProperty::key("CSName", CimType::String, s(&m.hostname)),
        CimProperty::key("OSCreationClassName", CimType::String, s("Win32_OperatingSystem")),
        CimProperty::key("OSName", CimType::String, s(os_name)),
    ]))
}

/// The methods of Win32_Process that have a meaning here, with Windows' names, parameters and types:
/// `Terminate(Reason)` ends the process (SIGKILL, as Windows' TerminateProcess cannot be caught),
/// `GetOwner(User, Domain)` gives the user owning it and this computer's name.
pub(super) fn methods() -> Vec<MethodSchema> {
    let param = |name: &str, way: u32| PropertySchema { qualifiers: way, ..PropertySchema::new(name, if way == qualifier::IN { CimType::UInt32 } else { CimType::String }) };
    vec![
        MethodSchema { name: "Terminate".into(), return_type: CimType::UInt32, qualifiers: 0, parameters: vec![param("Reason", qualifier::IN)] },
        MethodSchema { name: "GetOwner".into(), return_type: CimType::UInt32, qualifiers: 0, parameters: vec![param("User", qualifier::OUT), param("Domain", qualifier::OUT)] },
    ]
}

/// Windows' Win32_Process method return codes.
const SUCCESS: u32 = 0;
const ACCESS_DENIED: u32 = 2;
const UNKNOWN_FAILURE: u32 = 8;

/// Runs `method` (one of [`methods`], by its declared name) on `process`: the ReturnValue and the
/// out-parameters. Errors: NotFound when the process has gone.
pub(super) fn invoke(m: &Machine, process: &CimInstance, method: &str) -> Result<(CimValue, Vec<CimProperty>)> {
    let pid = match process.property("Handle").map(|h| &h.value) {
        Some(CimValue::String(handle)) => handle.parse::<u32>().ok().filter(|pid| *pid > 0),
        _ => None,
    };
    let gone = || Error::new(ErrorKind::NotFound, "Not found: the process has exited".to_string());
    let pid = pid.ok_or_else(gone)?;
    match method {
        "Terminate" => {
            // SAFETY: kill(2) with a positive pid signals that one process only.
            let code = if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
                SUCCESS
            } else {
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::ESRCH) => return Err(gone()),
                    Some(libc::EPERM) => ACCESS_DENIED,
                    _ => UNKNOWN_FAILURE,
                }
            };
            Ok((CimValue::UInt32(code), Vec::new()))
        }
        "GetOwner" => {
            use std::os::unix::fs::MetadataExt;
            let uid = fs::metadata(format!("/proc/{pid}")).map_err(|_| gone())?.uid();
            let user = user_name(uid).unwrap_or_else(|| uid.to_string());
            let out = |name: &str, v: String| CimProperty::new(name, CimType::String, CimValue::String(v));
            Ok((CimValue::UInt32(SUCCESS), vec![out("User", user), out("Domain", m.hostname.clone())]))
        }
        other => Err(Error::new(ErrorKind::MethodNotFound, format!("Method '{other}' is not defined by class 'Win32_Process' on this machine"))),
    }
}

/// The login name of `uid` from the system's user database (getpwuid_r), if it has one.
fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwuid_r writes only into `entry` and `buffer` (of the length given) and `found`.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        if libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found) != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        Some(std::ffi::CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.comm, "my (odd) cmd");
        assert_eq!((s.ppid, s.session, s.utime_ticks, s.stime_ticks), (1, 4242, 7, 3));
        assert_eq!((s.priority, s.threads, s.start_ticks), (20, 5, 12345));
        assert_eq!((s.vsize_bytes, s.rss_pages), (104_857_600, 2560));
        assert_eq!(parse_stat("garbage"), None);
    }
}
