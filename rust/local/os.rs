//! Win32_OperatingSystem: the running Linux system. Sizes are in KiB as Windows reports them.

use std::fs;

use super::system::{colon_field, instance, key_value, meminfo_kb, opt_string, read_trimmed, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] = &["CIM_OperatingSystem", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// CIM's OSType value for Linux (CIM_OperatingSystem.OSType, value map 36 = "LINUX").
const OS_TYPE_LINUX: u16 = 36;

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    let release = fs::read_to_string("/etc/os-release").or_else(|_| fs::read_to_string("/usr/lib/os-release")).unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kernel = read_trimmed("/proc/sys/kernel/osrelease");
    let caption = key_value(&release, "PRETTY_NAME").or_else(|| key_value(&release, "NAME"));
    let processes = fs::read_dir("/proc")
        .map(|d| d.flatten().filter(|e| e.file_name().to_str().map_or(false, |n| n.bytes().all(|b| b.is_ascii_digit()))).count())
        .unwrap_or(0);
    let total_kb = meminfo_kb(&meminfo, "MemTotal");
    let free_kb = meminfo_kb(&meminfo, "MemAvailable").or_else(|| meminfo_kb(&meminfo, "MemFree"));
    let swap_total = meminfo_kb(&meminfo, "SwapTotal").unwrap_or(0);
    let swap_free = meminfo_kb(&meminfo, "SwapFree").unwrap_or(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    let u64_or_null = |v: Option<u64>| v.map_or(CimValue::Null, CimValue::UInt64);
    let arch = std::env::consts::ARCH;
    let properties = vec![
        CimProperty::new("Caption", CimType::String, opt_string(caption.clone())),
        CimProperty::new("Description", CimType::String, opt_string(caption)),
        CimProperty::key("Name", CimType::String, opt_string(key_value(&release, "NAME"))),
        CimProperty::key("CreationClassName", CimType::String, CimValue::String("Win32_OperatingSystem".into())),
        CimProperty::key("CSCreationClassName", CimType::String, CimValue::String("Win32_ComputerSystem".into())),
        CimProperty::key("CSName", CimType::String, CimValue::String(m.hostname.clone())),
        CimProperty::new("Version", CimType::String, opt_string(key_value(&release, "VERSION_ID").or_else(|| kernel.clone()))),
        // The kernel release plays the part of Windows' build number.
        CimProperty::new("BuildNumber", CimType::String, opt_string(kernel)),
        CimProperty::new("Manufacturer", CimType::String, opt_string(key_value(&release, "ID"))),
        CimProperty::new("OSType", CimType::UInt16, CimValue::UInt16(OS_TYPE_LINUX)),
        CimProperty::new("OSArchitecture", CimType::String, CimValue::String(if arch.contains("64") { "64-bit" } else { "32-bit" }.into())),
        // Where the system's programs live, Linux's counterpart of C:\Windows\system32.
        CimProperty::new("SystemDirectory", CimType::String, CimValue::String("/usr/bin".into())),
        CimProperty::new("WindowsDirectory", CimType::String, CimValue::String("/".into())),
        CimProperty::new("Organization", CimType::String, CimValue::Null),
        CimProperty::new("RegisteredUser", CimType::String, CimValue::Null),
        // systemd's machine id identifies this installation as Windows' serial number does.
        CimProperty::new("SerialNumber", CimType::String, opt_string(read_trimmed("/etc/machine-id"))),
        CimProperty::new("LastBootUpTime", CimType::DateTime, m.datetime(m.boot_time * 1_000_000)),
        CimProperty::new("LocalDateTime", CimType::DateTime, m.datetime(now)),
        CimProperty::new("CurrentTimeZone", CimType::SInt16, CimValue::SInt16(m.utc_offset_minutes)),
        CimProperty::new("NumberOfProcesses", CimType::UInt32, CimValue::UInt32(processes as u32)),
        CimProperty::new("TotalVisibleMemorySize", CimType::UInt64, u64_or_null(total_kb)),
        CimProperty::new("FreePhysicalMemory", CimType::UInt64, u64_or_null(free_kb)),
        CimProperty::new("TotalVirtualMemorySize", CimType::UInt64, u64_or_null(total_kb.map(|t| t + swap_total))),
        CimProperty::new("FreeVirtualMemory", CimType::UInt64, u64_or_null(free_kb.map(|f| f + swap_free))),
        CimProperty::new("SizeStoredInPagingFiles", CimType::UInt64, CimValue::UInt64(swap_total)),
        CimProperty::new("FreeSpaceInPagingFiles", CimType::UInt64, CimValue::UInt64(swap_free)),
        CimProperty::new("Locale", CimType::String, opt_string(std::env::var("LANG").ok().filter(|l| !l.is_empty()))),
        CimProperty::new("Status", CimType::String, CimValue::String("OK".into())),
        CimProperty::new("Primary", CimType::Boolean, CimValue::Boolean(true)),
        CimProperty::new("MaxProcessMemorySize", CimType::UInt64, u64_or_null(colon_field(&meminfo, "VmallocTotal").and_then(|v| v.parse().ok()))),
    ];
    Ok(vec![instance(properties)])
}
